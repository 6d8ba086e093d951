/**
 * The scan report as the security team sees it: `palisade scan show ID --html FILE` from a kept
 * history, opened in headless Chromium (Debian's chromium, no network, a fresh profile); the
 * screenshot (kept in .cache/test-artifacts/) must show the summary cards and the trend bars,
 * found by their colours in the decoded PNG, not only a file that exists.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHART_FAIL_COLOR } from '../../installer/scan/html.ts';
import { saveScan } from '../../installer/scan/store.ts';
import { summarizeFindings, type Finding, type ScanResult } from '../../installer/scan/types.ts';

const repo = resolve(import.meta.dirname, '../..');
const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
let dir: string;

/** RGBA pixels of an 8-bit RGB/RGBA PNG (what Chromium writes) */
function decodePng(buf: Buffer): { width: number; height: number; px: (x: number, y: number) => [number, number, number] } {
  let off = 8;
  let width = 0,
    height = 0,
    channels = 0;
  const idat: Buffer[] = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('ascii', off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      channels = data[9] === 6 ? 4 : data[9] === 2 ? 3 : 0;
      if (data[8] !== 8 || !channels) throw new Error('unexpected PNG format');
    }
    if (type === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)]!;
    for (let i = 0; i < stride; i++) {
      const x = raw[y * (stride + 1) + 1 + i]!;
      const a = i >= channels ? out[y * stride + i - channels]! : 0;
      const b = y > 0 ? out[(y - 1) * stride + i]! : 0;
      const c = i >= channels && y > 0 ? out[(y - 1) * stride + i - channels]! : 0;
      const p = a + b - c;
      const pr = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      out[y * stride + i] = (x + [0, a, b, (a + b) >> 1, pr][f]!) & 0xff;
    }
  }
  return { width, height, px: (x, y) => [out[y * stride + x * channels]!, out[y * stride + x * channels + 1]!, out[y * stride + x * channels + 2]!] };
}

function scan(id: string, startedAt: string, fails: number): ScanResult {
  const findings: Finding[] = [
    ...Array.from({ length: fails }, (_, i) => ({
      check: `world-writable./srv/f${i}`,
      host: `host${(i % 2) + 1}`,
      status: 'fail' as const,
      detail: `/srv/f${i} is writable by every user`,
    })),
    ...Array.from({ length: 6 }, (_, i) => ({ check: `port.tcp.0.0.0.0:${22 + i}`, host: 'host1', status: 'pass' as const, detail: 'expected' })),
  ];
  return {
    id,
    type: 'security',
    cluster: 'lab',
    startedAt,
    finishedAt: startedAt,
    versions: { scanner: 'palisade 0.1.0', rules: '2026.12.1', vulndb: { built: '2026-11-30T00:00:00.000Z', ageDays: 1, stale: false, records: 3 } },
    hosts: ['host1', 'host2'],
    findings,
    summary: summarizeFindings(findings),
    notes: [],
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'palisade-scan-html-'));
  writeFileSync(join(dir, 'id_ed25519'), '', { mode: 0o600 });
  writeFileSync(
    join(dir, 'palisade.yaml'),
    'apiVersion: palisade/v1\ncluster: { name: lab, fqdn: palisade.lab.internal }\nhosts:\n  - { name: host1, address: 10.231.0.10, role: controller, privateKey: id_ed25519 }\n',
  );
  const state = join(dir, '.palisade', 'lab');
  for (const [i, n] of [3, 5, 2, 4].entries()) await saveScan(state, scan(`security-2026110${i + 1}T000000Z`, `2026-11-0${i + 1}T00:00:00.000Z`, n));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the HTML scan report', () => {
  it.skipIf(!chromium)('renders its summary and trend chart in headless Chromium', () => {
    const html = join(dir, 'report.html');
    const r = spawnSync(
      process.execPath,
      [join(repo, 'installer/bin/palisade.js'), 'scan', 'show', 'security-20261104T000000Z', '--html', html, '-c', join(dir, 'palisade.yaml')],
      { encoding: 'utf8', timeout: 120_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    const png = join(dir, 'report.png');
    const c = spawnSync(
      chromium!,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        `--user-data-dir=${join(dir, 'profile')}`,
        '--hide-scrollbars',
        '--window-size=900,800',
        `--screenshot=${png}`,
        `file://${html}`,
      ],
      { encoding: 'utf8', timeout: 120_000 },
    );
    expect(existsSync(png), c.stderr).toBe(true);
    mkdirSync(join(repo, '.cache/test-artifacts'), { recursive: true });
    copyFileSync(png, join(repo, '.cache/test-artifacts/scan-report.png'));
    const img = decodePng(readFileSync(png));
    const [fr, fg, fb] = [1, 3, 5].map((i) => parseInt(CHART_FAIL_COLOR.slice(i, i + 2), 16)) as [number, number, number];
    const isFail = ([r2, g2, b2]: number[]) => Math.abs(r2! - fr) < 12 && Math.abs(g2! - fg) < 12 && Math.abs(b2! - fb) < 12;
    // the trend: four bars of the failure colour, side by side in one band of rows
    let bestRow = 0,
      bestRuns = 0;
    for (let y = 0; y < img.height; y++) {
      let runs = 0,
        inRun = false,
        len = 0;
      for (let x = 0; x < img.width; x++) {
        const on = isFail(img.px(x, y));
        if (on) len++;
        if (on && !inRun) inRun = true;
        if (!on && inRun) {
          if (len >= 6) runs++;
          inRun = false;
          len = 0;
        }
      }
      if (runs > bestRuns) {
        bestRuns = runs;
        bestRow = y;
      }
    }
    expect(bestRuns, `bars found on row ${bestRow}`).toBe(4);
    // the summary: the big failing count is drawn in the failure colour above the chart
    let summaryPixels = 0;
    for (let y = 0; y < bestRow - 60; y++) for (let x = 0; x < img.width; x++) if (isFail(img.px(x, y))) summaryPixels++;
    expect(summaryPixels).toBeGreaterThan(20);
  });
});
