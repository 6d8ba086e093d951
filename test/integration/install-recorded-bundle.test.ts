/**
 * `palisade install --dry-run` with neither --bundle nor --trusted-key: the bundle the journal records
 * from the last finished install is used when it is still there and unchanged; otherwise a refusal
 * that names the flag to give. A real signed bundle, a real journal; no host is reached (the run
 * stops at connect), the lab test shows a full "up to date" plan.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBundle } from '../../installer/bundle/open.ts';
import { keyFingerprint, loadPublicKey } from '../../installer/bundle/signing.ts';
import { recordedBundle, recordInstalledBundle } from '../../installer/phases/install/recorded-bundle.ts';
import { Journal } from '../../installer/state/journal.ts';
import { smallBundle } from '../fixtures/bundle/small-bundle.ts';
import type { TestBundle } from '../../scripts/bundle/build-test-bundle.ts';

const bin = resolve(import.meta.dirname, '../../installer/bin/palisade.js');
const dir = mkdtempSync(join(tmpdir(), 'palisade-recorded-bundle-'));
const journalPath = join(dir, '.palisade', 'rec', 'journal.json');
let tb: TestBundle;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

writeFileSync(
  join(dir, 'palisade.yaml'),
  `apiVersion: palisade/v1
cluster: { name: rec, fqdn: palisade.rec.internal }
hosts:
  - { name: h1, address: 127.0.0.1, port: 1, role: controller }
`,
);
const run = (...args: string[]) =>
  spawnSync('node', [bin, 'install', '-c', join(dir, 'palisade.yaml'), ...args], {
    encoding: 'utf8',
    timeout: 120_000,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PALISADE_PASSPHRASE: 'recorded bundle test' },
  });

beforeAll(async () => {
  tb = await smallBundle(join(dir, 'bundle-work'));
}, 300_000);

async function record(): Promise<void> {
  const key = await loadPublicKey(tb.publicKeyPath, '--trusted-key');
  const j = await Journal.open(journalPath, 'rec');
  const b = await openBundle(tb.path, { trustedKey: key });
  try {
    await recordInstalledBundle(j, tb.path, b, key);
  } finally {
    await b.close();
  }
}

describe('install --dry-run without --bundle', () => {
  it('with no finished install in the journal: a usage error naming --bundle', () => {
    const r = run('--dry-run');
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/records no finished install/);
    expect(r.stderr).toMatch(/pass --bundle PATH/);
  });

  it('a run that is not a dry run always needs --bundle', async () => {
    await record();
    const r = run('--yes');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/install needs --bundle PATH/);
  });

  it("the journal's record: path, name, version, manifest digest and the trusted key with its fingerprint", async () => {
    await record();
    const j = JSON.parse(await readFile(journalPath, 'utf8'));
    const key = await loadPublicKey(tb.publicKeyPath, '--trusted-key');
    expect(j.installed).toMatchObject({
      path: resolve(tb.path),
      manifestDigest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      trustedKey: { fingerprint: keyFingerprint(key) },
    });
    const rb = await recordedBundle(await Journal.read(journalPath), journalPath);
    expect(rb.path).toBe(resolve(tb.path));
    expect(keyFingerprint(rb.trustedKey)).toBe(keyFingerprint(key));
  });

  it('takes the recorded bundle and key: the bundle is verified with them, then the plan goes on (here to the unreachable host)', async () => {
    await record();
    const r = run('--dry-run');
    expect(r.stderr + r.stdout).toMatch(/planning with the bundle the last install ran from, \S+ \S+/);
    expect(r.stderr + r.stdout).toMatch(/files verified, signature good/);
    expect(r.stderr + r.stdout).not.toMatch(/trustedKey|--trusted-key/);
    expect(r.status).toBe(1); // h1 (port 1) refuses the connection
  });

  it('a recorded bundle that changed since: refused, saying so and which flag to give', async () => {
    await record();
    const manifest = join(tb.path, 'bundle.yaml');
    const before = await readFile(manifest);
    appendFileSync(manifest, '# edited\n');
    try {
      const r = run('--dry-run');
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/is no longer the bundle the last install ran from/);
      expect(r.stderr).toMatch(/pass --bundle PATH explicitly/);
    } finally {
      writeFileSync(manifest, before);
    }
  });

  it('a recorded bundle that is gone: refused, naming it and --bundle', async () => {
    await record();
    renameSync(tb.path, `${tb.path}.moved`);
    try {
      const r = run('--dry-run');
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/the bundle the last install ran from \(\S+ \S+, .*\) cannot be read/);
      expect(r.stderr).toMatch(/pass --bundle PATH/);
    } finally {
      renameSync(`${tb.path}.moved`, tb.path);
    }
  });

  it('a recorded key that is not the one its fingerprint names is refused', async () => {
    await record();
    const j = JSON.parse(await readFile(journalPath, 'utf8'));
    j.installed.trustedKey.fingerprint = 'SHA256:not-this-one';
    writeFileSync(journalPath, JSON.stringify(j));
    await expect(recordedBundle(await Journal.read(journalPath), journalPath)).rejects.toMatchObject({ code: 'install.recorded-key' });
  });
});
