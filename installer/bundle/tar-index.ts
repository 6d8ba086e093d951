/**
 * The entries of a plain tar and where each one's data lies, learnt from the headers alone.
 * A header says how long its data is, so the reader seeks past the data instead of reading
 * it: opening a bundle of tens of GB costs one small read per file, and the files' bytes are
 * read later, as byte ranges, by whoever hashes or sends them. (tar-stream, which writes the
 * bundles, parses a stream from start to end and cannot skip.) Formats: ustar, GNU (long
 * names, base-256 sizes) and POSIX pax (path, linkpath and size records).
 */
import { open } from 'node:fs/promises';

const BLOCK = 512;
/** a pax record set or GNU long name this large is no name any tool writes */
const MAX_META = 1 << 20;

export interface TarEntry {
  name: string;
  /** tar-stream's names: file, contiguous-file, directory, symlink, link, character-device, … */
  type: string;
  linkname: string;
  size: number;
  /** where the entry's data starts in the archive */
  dataOffset: number;
}

/** The archive is not a tar, or ends before its last entry does. */
export class TarFormatError extends Error {
  constructor(
    message: string,
    readonly truncated = false,
  ) {
    super(message);
  }
}

const TYPES: Record<string, string> = {
  '0': 'file',
  '\0': 'file',
  '1': 'link',
  '2': 'symlink',
  '3': 'character-device',
  '4': 'block-device',
  '5': 'directory',
  '6': 'fifo',
  '7': 'contiguous-file',
  x: 'pax-header',
  g: 'pax-global-header',
  L: 'gnu-long-path',
  K: 'gnu-long-link-path',
};

const text = (b: Uint8Array, start: number, len: number): string => {
  const field = b.subarray(start, start + len);
  const nul = field.indexOf(0);
  return Buffer.from(nul < 0 ? field : field.subarray(0, nul)).toString('utf8');
};

/** An octal field, or GNU's base-256 form (high bit set) for values past 8 GiB. */
export function tarNumber(b: Uint8Array, start: number, len: number): number {
  const first = b[start] ?? 0;
  if (first & 0x80) {
    if (first === 0xff) throw new TarFormatError('a tar header holds a negative number');
    let v = first & 0x7f;
    for (let i = start + 1; i < start + len; i++) v = v * 256 + (b[i] ?? 0);
    if (!Number.isSafeInteger(v)) throw new TarFormatError('a tar header holds a number too large to be a size');
    return v;
  }
  const s = text(b, start, len).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new TarFormatError(`a tar header holds ${JSON.stringify(s)} where an octal number belongs`);
  return Number.parseInt(s, 8);
}

const isZero = (b: Uint8Array): boolean => b.every((x) => x === 0);

/** The checksum counts its own field as spaces; some writers summed signed bytes. */
function checksumValid(b: Uint8Array): boolean {
  const want = tarNumber(b, 148, 8);
  let unsigned = 8 * 0x20;
  let signed = 8 * 0x20;
  for (let i = 0; i < BLOCK; i++) {
    if (i >= 148 && i < 156) continue;
    const x = b[i] ?? 0;
    unsigned += x;
    signed += x > 127 ? x - 256 : x;
  }
  return want === unsigned || want === signed;
}

interface RawHeader {
  name: string;
  linkname: string;
  size: number;
  typeflag: string;
}

/** One 512-byte header block. */
export function decodeHeader(b: Uint8Array): RawHeader {
  const magic = text(b, 257, 6);
  if (magic !== 'ustar' && magic !== 'ustar ') throw new TarFormatError('no tar header where one belongs (no ustar magic)');
  if (!checksumValid(b)) throw new TarFormatError('a tar header fails its checksum');
  let name = text(b, 0, 100);
  // only POSIX ustar has a name prefix; GNU keeps other fields there
  const version = text(b, 263, 2);
  if (magic === 'ustar' && version === '00') {
    const prefix = text(b, 345, 155);
    if (prefix) name = `${prefix}/${name}`;
  }
  return { name, linkname: text(b, 157, 100), size: tarNumber(b, 124, 12), typeflag: String.fromCharCode(b[156] ?? 0) };
}

/** pax records: `LEN key=value\n`, LEN counting the whole record. */
export function parsePax(data: Uint8Array): Map<string, string> {
  const out = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    const len = space < 0 ? Number.NaN : Number(Buffer.from(data.subarray(at, space)).toString('ascii'));
    if (!Number.isSafeInteger(len) || len <= space - at + 1 || at + len > data.length || data[at + len - 1] !== 0x0a) {
      // a NUL-padded tail is not a record
      if (data.subarray(at).every((x) => x === 0)) break;
      throw new TarFormatError('a pax header holds a malformed record');
    }
    const record = Buffer.from(data.subarray(space + 1, at + len - 1)).toString('utf8');
    const eq = record.indexOf('=');
    if (eq <= 0) throw new TarFormatError('a pax header holds a record without a key');
    out.set(record.slice(0, eq), record.slice(eq + 1));
    at += len;
  }
  return out;
}

const padded = (size: number): number => Math.ceil(size / BLOCK) * BLOCK;

/** Every entry of the tar at `path`, in archive order, with where its data lies. */
export async function readTarIndex(path: string): Promise<TarEntry[]> {
  const fh = await open(path, 'r');
  try {
    const total = (await fh.stat()).size;
    const block = Buffer.alloc(BLOCK);
    const entries: TarEntry[] = [];
    let pending: { path?: string; linkpath?: string; size?: number } = {};
    const readData = async (at: number, size: number, what: string): Promise<Buffer> => {
      if (size > MAX_META) throw new TarFormatError(`a ${what} of ${size} bytes, more than any tar writer puts there`);
      const data = Buffer.alloc(size);
      const { bytesRead } = await fh.read(data, 0, size, at);
      if (bytesRead !== size) throw new TarFormatError('the tar archive ends in the middle of an entry', true);
      return data;
    };
    let pos = 0;
    for (;;) {
      // a writer that left out the end-of-archive blocks still wrote whole entries
      if (pos >= total) break;
      if (pos + BLOCK > total) {
        if (pos === 0) throw new TarFormatError(`${total} bytes, shorter than one tar header`);
        throw new TarFormatError('the tar archive ends in the middle of a header', true);
      }
      await fh.read(block, 0, BLOCK, pos);
      if (isZero(block)) break;
      const h = decodeHeader(block);
      const meta = h.typeflag === 'x' || h.typeflag === 'L' || h.typeflag === 'K' || h.typeflag === 'g';
      const size = meta ? h.size : (pending.size ?? h.size);
      const dataOffset = pos + BLOCK;
      if (dataOffset + size > total) throw new TarFormatError('the tar archive ends in the middle of an entry', true);
      if (h.typeflag === 'x') {
        const pax = parsePax(await readData(dataOffset, size, 'pax header'));
        const p = pax.get('path');
        const l = pax.get('linkpath');
        const s = pax.get('size');
        if (p !== undefined) pending.path = p;
        if (l !== undefined) pending.linkpath = l;
        if (s !== undefined) {
          if (!/^\d+$/.test(s) || !Number.isSafeInteger(Number(s))) throw new TarFormatError(`a pax header gives the size ${JSON.stringify(s)}`);
          pending.size = Number(s);
        }
      } else if (h.typeflag === 'L' || h.typeflag === 'K') {
        const name = text(await readData(dataOffset, size, 'GNU long name'), 0, size);
        if (h.typeflag === 'L') pending.path = name;
        else pending.linkpath = name;
      } else {
        entries.push({
          name: pending.path ?? h.name,
          linkname: pending.linkpath ?? h.linkname,
          type: TYPES[h.typeflag] ?? `tar type ${JSON.stringify(h.typeflag)}`,
          size,
          dataOffset,
        });
        pending = {};
      }
      pos = dataOffset + padded(size);
    }
    return entries;
  } finally {
    await fh.close();
  }
}
