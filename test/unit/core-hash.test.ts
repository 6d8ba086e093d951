import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { hashFile, hashFiles, hashSink, hashStream, sha256Base64, sha256Digest, sha256Hex } from '../../installer/core/hash.ts';

const dir = mkdtempSync(join(tmpdir(), 'palisade-hash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ref = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');

describe('hashing off the main thread', () => {
  const big = randomBytes(9 * (1 << 20) + 12345); // several worker chunks and a ragged end
  const bigPath = join(dir, 'big');
  writeFileSync(bigPath, big);

  it('in-memory forms agree with node:crypto', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Digest(big)).toBe(`sha256:${ref(big)}`);
    expect(sha256Base64('abc')).toBe(createHash('sha256').update('abc').digest('base64'));
  });

  it('a file, a byte range of it, and an empty file', async () => {
    expect(await hashFile(bigPath)).toEqual({ sha256: ref(big), size: big.length });
    expect(await hashFile(bigPath, { start: 100, end: 2_000_000 })).toEqual({ sha256: ref(big.subarray(100, 2_000_001)), size: 1_999_901 });
    writeFileSync(join(dir, 'empty'), '');
    expect(await hashFile(join(dir, 'empty'))).toEqual({ sha256: ref(''), size: 0 });
  });

  it('many files at once: every digest right, each reported once', async () => {
    const files = Array.from({ length: 12 }, (_, i) => {
      const data = randomBytes(i * 70_000 + 1);
      const path = join(dir, `f${i}`);
      writeFileSync(path, data);
      return { key: `k${i}`, path, size: data.length, want: ref(data) };
    });
    const seen: string[] = [];
    const out = await hashFiles(files, { onFile: (k) => seen.push(k) });
    for (const f of files) expect(out.get(f.key)?.sha256).toBe(f.want);
    expect(seen.sort()).toEqual(files.map((f) => f.key).sort());
  });

  it('an idle pool does not keep the process alive', () => {
    const code = `import { hashFile } from ${JSON.stringify(join(import.meta.dirname, '../../installer/core/hash.ts'))}; await hashFile(${JSON.stringify(bigPath)});`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8', timeout: 20_000 });
    expect(r.signal, 'the process had to be killed').toBeNull();
    expect(r.status, r.stderr).toBe(0);
  });

  it('workers started ahead (warmHashWorkers) hash on the first call, and never keep the process alive', async () => {
    const code = `import { hashFile, warmHashWorkers } from ${JSON.stringify(join(import.meta.dirname, '../../installer/core/hash.ts'))}; warmHashWorkers(); if (process.argv.includes('hash')) console.log((await hashFile(${JSON.stringify(bigPath)})).sha256);`;
    const idle = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8', timeout: 20_000 });
    expect(idle.signal, 'a warmed, idle pool kept the process alive').toBeNull();
    expect(idle.status, idle.stderr).toBe(0);
    const used = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code, '--', 'hash'], { encoding: 'utf8', timeout: 20_000 });
    expect(used.status, used.stderr).toBe(0);
    expect(used.stdout.trim()).toBe(ref(big));
  });

  it('a missing file rejects with its error code', async () => {
    await expect(hashFile(join(dir, 'nope'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a stream in uneven chunks, larger than the in-flight window, hashes like the whole', async () => {
    const data = randomBytes(40 << 20);
    const chunks: Buffer[] = [];
    for (let at = 0, n = 1; at < data.length; at += n, n = ((n * 7 + 13) % 3_000_000) + 1) chunks.push(data.subarray(at, at + n));
    expect(await hashStream(Readable.from(chunks))).toEqual({ sha256: ref(data), size: data.length });
  });

  it('a sink says when to wait, and streams hashed at the same time do not mix', async () => {
    const a = hashSink();
    const b = hashSink();
    const da = randomBytes(3 << 20);
    const db = randomBytes(5 << 20);
    let waited = false;
    for (let at = 0; at < db.length; at += 1 << 16) {
      if (at < da.length) a.update(da.subarray(at, at + (1 << 16)));
      if (!b.update(db.subarray(at, at + (1 << 16)))) {
        waited = true;
        await b.drained();
      }
    }
    expect([(await a.digest()).sha256, (await b.digest()).sha256]).toEqual([ref(da), ref(db)]);
    expect(waited).toBe(false); // 5 MiB stays inside the window
  });
});
