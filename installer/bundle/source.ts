import { createReadStream } from 'node:fs';
import { lstat, open, readdir, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { bundlePathProblem, normalizeBundlePath, symlinkEscapes } from './paths.ts';
import { PalisadeError } from '../core/errors.ts';
import { readTarIndex, TarFormatError, type TarEntry } from './tar-index.ts';

/**
 * Read access to a bundle's files without extracting it: a directory, or a plain
 * (uncompressed) tar whose headers say where each file's bytes are. Reads are
 * byte ranges of the tar, so hashing and seeding read several files at once from
 * one archive and memory stays flat.
 */
export interface SourceEntry {
  path: string;
  size: number;
  /** byte offset of the data in the tar */
  offset?: number;
}

export interface BundleSource {
  readonly kind: 'dir' | 'tar';
  readonly root: string;
  readonly entries: ReadonlyMap<string, SourceEntry>;
  createReadStream(path: string, range?: { start?: number; end?: number }): Readable;
  /**
   * A whole small file (a manifest, an index) in one read, no stream; `what` names it in the
   * refusal when it is larger than `limit`.
   */
  readFile(path: string, limit: number, what: string): Promise<Buffer>;
  /**
   * Where a file's bytes are on disk, so whoever hashes it reads them itself: a directory
   * bundle's file whole (no size: to its end), a tar's entry as a byte range of the archive.
   */
  byteRange(path: string): { file: string; start: number; size?: number };
}

const escapeError = (root: string, path: string, why: string): PalisadeError =>
  new PalisadeError('bundle.path-escape', `${root}: entry ${JSON.stringify(path)} ${why}`, {
    hint: 'the bundle was damaged or crafted to reach outside its directory: do not use it; get the bundle again from the release',
  });

export const tooLarge = (what: string, limit: number): PalisadeError =>
  new PalisadeError('bundle.file-too-large', `${what} is larger than ${limit >> 20} MiB, more than any bundle palisade builds holds there`, {
    hint: 'the bundle is damaged or was crafted: do not use it; get it again from the release',
  });

/**
 * A small file in as few reads as its size allows, refused above `limit`: a tar entry is its
 * `size` bytes at `start`; a directory's file (no size) is read to its end, in case it grew
 * since it was listed.
 */
async function readRange(file: string, start: number, size: number | undefined, limit: number, what: string): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const known = size ?? (await fh.stat()).size;
    if (known > limit) throw tooLarge(what, limit);
    const cap = size ?? limit + 1;
    const chunks: Buffer[] = [];
    let got = 0;
    while (got < cap) {
      const buf = Buffer.allocUnsafe(Math.min(cap - got, Math.max(known - got, 64 << 10)));
      const { bytesRead } = await fh.read(buf, 0, buf.length, start + got);
      if (bytesRead === 0) break;
      chunks.push(buf.subarray(0, bytesRead));
      got += bytesRead;
    }
    if (got > limit) throw tooLarge(what, limit);
    return Buffer.concat(chunks, got);
  } finally {
    await fh.close();
  }
}

const unsupported = (root: string, path: string, what: string): PalisadeError =>
  new PalisadeError('bundle.unsupported-entry', `${root}: entry ${JSON.stringify(path)} is ${what}; a bundle holds regular files only`, {
    hint: 'rebuild the bundle with `palisade bundle build`, which writes regular files only',
  });

export async function openSource(path: string): Promise<BundleSource> {
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    throw new PalisadeError('bundle.not-found', `bundle ${path} does not exist`, {
      hint: 'give the path of the bundle directory or .tar',
      exitCode: 2,
      cause: e,
    });
  }
  if (st.isDirectory()) return openDir(path);
  if (st.isFile()) return openTar(path);
  throw new PalisadeError('bundle.not-found', `bundle ${path} is neither a directory nor a .tar file`, { exitCode: 2 });
}

async function openDir(root: string): Promise<BundleSource> {
  const entries = new Map<string, SourceEntry>();
  const walk = async (rel: string): Promise<void> => {
    const dirents = await readdir(rel ? join(root, rel) : root, { withFileTypes: true });
    const files: string[] = [];
    const dirs: string[] = [];
    for (const d of dirents) {
      const p = rel ? `${rel}/${d.name}` : d.name;
      const abs = join(root, p);
      if (d.isSymbolicLink()) {
        const target = await readlink(abs);
        if (symlinkEscapes(p, target)) throw escapeError(root, p, `is a symlink pointing outside the bundle (to ${target})`);
        throw unsupported(root, p, 'a symlink');
      }
      if (d.isDirectory()) dirs.push(p);
      else if (d.isFile()) {
        const problem = bundlePathProblem(p);
        if (problem) throw escapeError(root, p, problem);
        files.push(p);
      } else throw unsupported(root, p, 'a device, socket or FIFO');
    }
    // a directory's sizes at once (one blob directory holds most of a bundle), then its subdirectories
    const sizes = await Promise.all(files.map(async (p) => (await lstat(join(root, p))).size));
    for (const [i, p] of files.entries()) entries.set(p, { path: p, size: sizes[i] as number });
    for (const d of dirs) await walk(d);
  };
  await walk('');
  return {
    kind: 'dir',
    root,
    entries,
    byteRange: (p) => {
      if (!entries.has(p)) throw new Error(`no file ${p} in the bundle`);
      return { file: join(root, p), start: 0 };
    },
    readFile: (p, limit, what) => {
      if (!entries.has(p)) throw new Error(`no file ${p} in the bundle`);
      return readRange(join(root, p), 0, undefined, limit, what);
    },
    createReadStream: (p, range) => {
      if (!entries.has(p)) throw new Error(`no file ${p} in the bundle`);
      return createReadStream(join(root, p), { start: range?.start, end: range?.end, highWaterMark: 1 << 20 });
    },
  };
}

async function openTar(file: string): Promise<BundleSource> {
  let index: TarEntry[];
  try {
    index = await readTarIndex(file);
  } catch (e) {
    if (!(e instanceof TarFormatError)) throw e;
    throw new PalisadeError(
      'bundle.not-a-bundle',
      e.truncated ? `${file} is truncated: ${e.message}` : `${file} is not a readable tar archive (${e.message})`,
      {
        hint: e.truncated
          ? 'the copy is incomplete: copy the bundle again from the release and check its size'
          : 'a bundle is a directory or a plain, uncompressed .tar; decompress a .tar.gz first',
        cause: e,
      },
    );
  }
  const entries = new Map<string, SourceEntry>();
  for (const header of index) {
    const name = normalizeBundlePath(header.name);
    if (header.type === 'directory') {
      if (name !== '' && name !== '.' && bundlePathProblem(name)) throw escapeError(file, header.name, bundlePathProblem(name) as string);
    } else if (header.type === 'symlink') {
      if (bundlePathProblem(name) || symlinkEscapes(name, header.linkname))
        throw escapeError(file, header.name, `is a symlink pointing outside the bundle (to ${header.linkname})`);
      throw unsupported(file, header.name, 'a symlink');
    } else if (header.type === 'file' || header.type === 'contiguous-file') {
      const p = bundlePathProblem(name);
      if (p) throw escapeError(file, header.name, p);
      if (entries.has(name))
        throw new PalisadeError('bundle.duplicate-entry', `${file}: ${name} appears twice in the tar; the second copy would shadow the first`, {
          hint: 'the bundle was tampered with: do not use it',
        });
      entries.set(name, { path: name, size: header.size, offset: header.dataOffset });
    } else if (header.type === 'link') throw unsupported(file, header.name, 'a hard link');
    else throw unsupported(file, header.name, `a ${header.type} entry`);
  }
  const located = (p: string): SourceEntry & { offset: number } => {
    const e = entries.get(p);
    if (!e || e.offset === undefined) throw new Error(`no file ${p} in the bundle`);
    return e as SourceEntry & { offset: number };
  };
  return {
    kind: 'tar',
    root: file,
    entries,
    byteRange: (p) => {
      const e = located(p);
      return { file, start: e.offset, size: e.size };
    },
    readFile: (p, limit, what) => {
      const e = located(p);
      return readRange(file, e.offset, e.size, limit, what);
    },
    createReadStream: (p, range) => {
      const e = located(p);
      if (e.size === 0) return Readable.from([]);
      const start = e.offset + (range?.start ?? 0);
      const end = e.offset + Math.min(range?.end ?? e.size - 1, e.size - 1);
      return createReadStream(file, { start, end, highWaterMark: 1 << 20 });
    },
  };
}
