import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { packTar, type PackEntry } from '../fixtures/bundle/tar-pack.ts';
import { decodeHeader, parsePax, readTarIndex, TarFormatError, tarNumber } from '../../installer/bundle/tar-index.ts';

let work: string;
let n = 0;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'palisade-tar-index-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function file(data: Buffer): Promise<string> {
  const f = join(work, `t${n++}.tar`);
  await writeFile(f, data);
  return f;
}

/** What tar-stream's own sequential parse says: names, sizes and where the data starts. */
async function streamed(data: Buffer): Promise<Array<{ name: string; size: number; offset: number; type: string }>> {
  const out: Array<{ name: string; size: number; offset: number; type: string }> = [];
  const x = tar.extract();
  x.on('entry', (h, s, next) => {
    out.push({ name: h.name, size: h.size ?? 0, offset: (h as { byteOffset?: number }).byteOffset ?? -1, type: h.type ?? '' });
    s.on('end', next);
    s.resume();
  });
  const done = new Promise<void>((r, j) => {
    x.on('finish', () => r());
    x.on('error', j);
  });
  x.end(data);
  await done;
  return out;
}

const failure = async (p: Promise<unknown>): Promise<TarFormatError> => {
  try {
    await p;
  } catch (e) {
    if (e instanceof TarFormatError) return e;
    throw e;
  }
  throw new Error('expected a TarFormatError');
};

describe('tar index: where every entry is, from the headers alone', () => {
  it('agrees with tar-stream on names, types, sizes and data offsets, long names and sizes on block edges included', async () => {
    const long = `images/layout/blobs/sha256/${'a'.repeat(64)}`;
    const veryLong = `${'d'.repeat(120)}/${'f'.repeat(130)}`; // no ustar split fits: a pax path
    const entries: PackEntry[] = [
      { name: 'bundle.yaml', data: 'name: x\n' },
      { name: 'empty', data: '' },
      { name: 'bin', type: 'directory' },
      { name: 'block', data: Buffer.alloc(512, 1) },
      { name: 'block+1', data: Buffer.alloc(513, 2) },
      { name: long, data: 'blob' },
      { name: veryLong, data: 'deep' },
      { name: 'ünïcode/名前', data: 'u' },
    ];
    const data = await packTar(entries);
    const index = await readTarIndex(await file(data));
    const want = await streamed(data);
    expect(index.map((e) => ({ name: e.name, size: e.size, offset: e.dataOffset, type: e.type }))).toEqual(want);
    expect(index.map((e) => e.name)).toContain(veryLong);
    for (const e of index) {
      const given = entries.find((x) => x.name === e.name);
      if (given?.data !== undefined) expect(data.subarray(e.dataOffset, e.dataOffset + e.size).toString()).toBe(Buffer.from(given.data).toString());
    }
  });

  it('a pax size and path override the header fields; links keep their target', async () => {
    const data = await packTar([
      { name: 'short', data: 'abc', pax: { path: 'renamed/by/pax' } },
      { name: 'bin/k3s', type: 'symlink', linkname: '../../usr/bin/bash' },
      { name: 'hard', type: 'link', linkname: 'etc/shadow' },
      { name: 'pipe', type: 'fifo' },
    ]);
    const index = await readTarIndex(await file(data));
    expect(index.map((e) => [e.name, e.type, e.linkname])).toEqual([
      ['renamed/by/pax', 'file', ''],
      ['bin/k3s', 'symlink', '../../usr/bin/bash'],
      ['hard', 'link', 'etc/shadow'],
      ['pipe', 'fifo', ''],
    ]);
  });

  it('an archive without the end-of-archive blocks still lists its whole entries', async () => {
    const data = await packTar([{ name: 'a', data: 'x'.repeat(700) }]);
    // one header + two data blocks, then the two zero blocks (and padding) that are cut away
    const index = await readTarIndex(await file(data.subarray(0, 512 * 3)));
    expect(index.map((e) => [e.name, e.size])).toEqual([['a', 700]]);
  });

  it('is truncated when it ends inside a header or inside an entry’s data', async () => {
    const data = await packTar([
      { name: 'a', data: 'x'.repeat(2000) },
      { name: 'b', data: 'y' },
    ]);
    for (const cut of [512 + 10, 512 * 5 + 300, 512 * 6]) {
      const e = await failure(readTarIndex(await file(data.subarray(0, cut))));
      expect(e.truncated, `cut at ${cut}`).toBe(true);
      expect(e.message).toMatch(/ends in the middle of an? (header|entry)/);
    }
  });

  it('refuses a compressed archive, random bytes and a header whose checksum is wrong', async () => {
    const data = await packTar([{ name: 'a', data: 'x' }]);
    const gz = gzipSync(Buffer.concat([data, Buffer.alloc(8192, 'x')]));
    expect((await failure(readTarIndex(await file(gz)))).truncated).toBe(false);
    expect((await failure(readTarIndex(await file(data.subarray(0, 100))))).message).toMatch(/shorter than one tar header/);
    expect((await failure(readTarIndex(await file(Buffer.alloc(4096, 7))))).message).toMatch(/no tar header/);
    const bad = Buffer.from(data);
    bad[3] = (bad[3] ?? 0) ^ 1; // the name changes, the checksum does not
    expect((await failure(readTarIndex(await file(bad)))).message).toMatch(/checksum/);
  });

  it('a pax global header and an unknown type are listed as what they are (the caller refuses them)', async () => {
    const data = await packTar([
      { name: 'pax_global_header', type: 'file', data: '' },
      { name: 'sparse', data: '' },
      { name: 'a', data: 'x' },
    ]);
    // rewrite the first two headers' types ('g', and GNU sparse 'S') with valid checksums
    const h = Buffer.from(data);
    for (const [at, flag] of [
      [0, 'g'],
      [512, 'S'],
    ] as const) {
      h[at + 156] = flag.charCodeAt(0);
      h.fill(0x20, at + 148, at + 156);
      let sum = 0;
      for (const x of h.subarray(at, at + 512)) sum += x;
      h.write(`${sum.toString(8).padStart(6, '0')}\0 `, at + 148, 'ascii');
    }
    expect(decodeHeader(h.subarray(0, 512)).typeflag).toBe('g');
    const index = await readTarIndex(await file(h));
    expect(index.map((e) => e.type)).toEqual(['pax-global-header', 'tar type "S"', 'file']);
  });
});

describe('tar index: fields', () => {
  it('octal and base-256 numbers', () => {
    const b = Buffer.alloc(12);
    b.write('00000001750\0', 0, 'ascii');
    expect(tarNumber(b, 0, 12)).toBe(0o1750);
    // 10 GiB, past what 11 octal digits hold: GNU's base-256
    const big = Buffer.alloc(12);
    big[0] = 0x80;
    big.writeUIntBE(10 * 2 ** 30, 6, 6);
    expect(tarNumber(big, 0, 12)).toBe(10 * 2 ** 30);
    const neg = Buffer.alloc(12, 0xff);
    expect(() => tarNumber(neg, 0, 12)).toThrow(TarFormatError);
    expect(() => tarNumber(Buffer.from('12z4\0'), 0, 5)).toThrow(/octal/);
  });

  it('pax records: lengths count the whole record; a malformed one is refused', () => {
    const rec = (k: string, v: string): string => {
      let len = k.length + v.length + 3;
      len += String(len).length;
      if (String(len).length !== String(len - String(len).length).length) len += 1;
      return `${len} ${k}=${v}\n`;
    };
    const text = rec('path', 'a/b c=d') + rec('size', '12345678901');
    const m = parsePax(Buffer.concat([Buffer.from(text), Buffer.alloc(20)]));
    expect(m.get('path')).toBe('a/b c=d');
    expect(m.get('size')).toBe('12345678901');
    expect(() => parsePax(Buffer.from('99 path=x\n'))).toThrow(/malformed/);
    expect(() => parsePax(Buffer.from('9 =x\n'.padStart(9, ' ')))).toThrow(TarFormatError);
  });

  it('the index reads headers, not data: a 64 MiB entry costs one header read', async () => {
    const f = join(work, 'big.tar');
    await writeFile(
      f,
      await packTar([
        { name: 'big', data: Buffer.alloc(64 << 20) },
        { name: 'small', data: 'x' },
      ]),
    );
    const probe = await open(f, 'r');
    const proto = Object.getPrototypeOf(probe) as { read: (...a: unknown[]) => Promise<unknown> };
    await probe.close();
    const spy = vi.spyOn(proto, 'read');
    try {
      const index = await readTarIndex(f);
      expect(index.map((e) => [e.name, e.size])).toEqual([
        ['big', 64 << 20],
        ['small', 1],
      ]);
      // two headers and the end-of-archive block, 512 bytes each
      expect(spy.mock.calls.map((c) => c[2])).toEqual([512, 512, 512]);
    } finally {
      spy.mockRestore();
    }
  });
});
