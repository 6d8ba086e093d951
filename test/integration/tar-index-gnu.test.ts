import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTarIndex } from '../../installer/bundle/tar-index.ts';
import { checkBundle } from '../../installer/bundle/verify.ts';
import { runLocal } from '../../installer/core/process.ts';
import type { TestBundle } from '../../scripts/bundle/build-test-bundle.ts';
import { smallBundle } from '../fixtures/bundle/small-bundle.ts';

// Archives written by GNU tar, as an operator who repacks a bundle would: each format spells
// long names its own way (GNU long-name entries, the ustar prefix, pax records).
let work: string;
let tb: TestBundle;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'palisade-tar-gnu-'));
  tb = await smallBundle(join(work, 'bundle'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const FORMATS = ['gnu', 'ustar', 'pax'] as const;

describe('tar index on archives GNU tar wrote', () => {
  it('finds every file and its exact bytes in gnu, ustar and pax archives with long names', async () => {
    const src = join(work, 'tree');
    const files = new Map<string, Buffer>([
      ['short', Buffer.from('s')],
      [`${'p'.repeat(90)}/${'q'.repeat(60)}`, Buffer.from('prefix-split name')],
      [`${'n'.repeat(99)}/${'m'.repeat(99)}`, Buffer.alloc(1537, 3)],
      ['ünïcode', Buffer.from('u')],
    ]);
    for (const [name, data] of files) {
      await mkdir(join(src, name, '..'), { recursive: true });
      await writeFile(join(src, name), data);
    }
    for (const format of FORMATS) {
      // ustar cannot spell the 199-character name: GNU tar leaves it out and says so
      const names = [...files.keys()].filter((n) => format !== 'ustar' || n.length < 160);
      const out = join(work, `${format}.tar`);
      const r = await runLocal('tar', [`--format=${format}`, '-C', src, '-cf', out, ...names]);
      expect(r.code, `${format}: ${r.stderr}`).toBe(0);
      const archive = await readFile(out);
      const index = await readTarIndex(out);
      const listed = index.filter((e) => e.type === 'file');
      expect(
        listed.map((e) => e.name),
        format,
      ).toEqual(names);
      for (const e of listed)
        expect(archive.subarray(e.dataOffset, e.dataOffset + e.size).equals(files.get(e.name) as Buffer), `${format}: ${e.name}`).toBe(true);
    }
  });

  it('a bundle repacked with `tar -C DIR -cf BUNDLE.tar .` verifies', async () => {
    for (const format of FORMATS) {
      const out = join(work, `repacked-${format}.tar`);
      const r = await runLocal('tar', [`--format=${format}`, '-C', tb.path, '-cf', out, '.']);
      expect(r.code, r.stderr).toBe(0);
      const report = await checkBundle(out, tb.publicKeyPem);
      expect(report.problems, format).toEqual([]);
      expect(report.ok).toBe(true);
    }
  });
});
