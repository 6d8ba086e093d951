/**
 * The numbers `bundle build` and `bundle verify` print say what they count, and agree: the files
 * listed in checksums.txt, plus the three metadata files named. (They once said "46 files" and
 * "43 files" of the same bundle.)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const bin = resolve(import.meta.dirname, '../../installer/bin/palisade.js');
const dir = mkdtempSync(join(tmpdir(), 'palisade-bundle-counts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const palisade = (...args: string[]) => spawnSync('node', [bin, ...args], { cwd: dir, encoding: 'utf8', timeout: 120_000 });

describe('bundle build and verify counts', () => {
  it('build and verify name the same count of files in checksums.txt, and it is the count of its lines', () => {
    for (const n of ['a.txt', 'b.txt', 'c.txt']) writeFileSync(join(dir, n), `${n}\n`);
    writeFileSync(
      join(dir, 'spec.yaml'),
      `apiVersion: palisade/release/v1\nname: counts\nversion: 1.0.0\nfiles:\n${['a', 'b', 'c'].map((n) => `  - { source: ${join(dir, `${n}.txt`)}, name: ${n}.txt }\n`).join('')}`,
    );
    expect(palisade('bundle', 'keygen', '--out', 'k.key').status).toBe(0);
    const built = palisade('bundle', 'build', '--spec', 'spec.yaml', '--key', 'k.key', '--out', 'out', '--no-executable');
    expect(built.status, built.stderr).toBe(0);
    const verified = palisade('bundle', 'verify', 'out', '--trusted-key', 'k.pub');
    expect(verified.status, verified.stderr).toBe(0);
    const listed = readFileSync(join(dir, 'out', 'checksums.txt'), 'utf8')
      .trim()
      .split('\n').length;
    expect(listed).toBeGreaterThanOrEqual(3);
    const countIn = (text: string) => Number(/(\d+) files in checksums\.txt/.exec(text)?.[1]);
    expect(countIn(built.stdout)).toBe(listed);
    expect(countIn(verified.stdout)).toBe(listed);
    for (const t of [built.stdout, verified.stdout]) expect(t).toMatch(/\+ bundle\.sig, bundle\.yaml, checksums\.txt/);
    expect(built.stdout).toMatch(/, 3 files, /); // the spec's components: what `files:` lists
  });
});
