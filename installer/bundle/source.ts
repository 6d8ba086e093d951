import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { bundlePathProblem, normalizeBundlePath, symlinkEscapes } from './paths.ts';
import { PalisadeError } from '../core/errors.ts';
import { hashSink, type HashSink } from '../core/hash.ts';

/**
 * Read access to a bundle's files without extracting it: a directory, or a plain
 * (uncompressed) tar read once with tar-stream to learn where each file's bytes
 * are. Later reads are byte ranges of the tar, so seeding can stream several
 * blobs at once from one archive and memory stays flat.
 */
export interface SourceEntry {
  path: string;
  size: number;
  /** byte offset of the data in the tar */
  offset?: number;
  /** sha256 hex, when the source was opened with `hash: true` (tar: computed in the same pass that indexes it) */
  sha256?: string;
}

export interface BundleSource {
  readonly kind: 'dir' | 'tar';
  readonly root: string;
  readonly entries: ReadonlyMap<string, SourceEntry>;
  createReadStream(path: string, range?: { start?: number; end?: number }): Readable;
  /** the file on disk (a directory bundle), so it can be read by whoever hashes it */
  localPath?(path: string): string;
}

const escapeError = (root: string, path: string, why: string): PalisadeError =>
  new PalisadeError('bundle.path-escape', `${root}: entry ${JSON.stringify(path)} ${why}`, {
    hint: 'the bundle was damaged or crafted to reach outside its directory: do not use it; get the bundle again from the release',
  });

const unsupported = (root: string, path: string, what: string): PalisadeError =>
  new PalisadeError('bundle.unsupported-entry', `${root}: entry ${JSON.stringify(path)} is ${what}; a bundle holds regular files only`, {
    hint: 'rebuild the bundle with `palisade bundle build`, which writes regular files only',
  });

export interface OpenSourceOptions {
  /** hash every file of a tar while indexing it: one sequential read of the archive, hashed by the worker pool */
  hash?: boolean;
}

export async function openSource(path: string, opts: OpenSourceOptions = {}): Promise<BundleSource> {
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
  if (st.isFile()) return openTar(path, opts.hash === true);
  throw new PalisadeError('bundle.not-found', `bundle ${path} is neither a directory nor a .tar file`, { exitCode: 2 });
}

async function openDir(root: string): Promise<BundleSource> {
  const entries = new Map<string, SourceEntry>();
  const walk = async (rel: string): Promise<void> => {
    const dirents = await readdir(rel ? join(root, rel) : root, { withFileTypes: true });
    for (const d of dirents) {
      const p = rel ? `${rel}/${d.name}` : d.name;
      const abs = join(root, p);
      if (d.isSymbolicLink()) {
        const target = await readlink(abs);
        if (symlinkEscapes(p, target)) throw escapeError(root, p, `is a symlink pointing outside the bundle (to ${target})`);
        throw unsupported(root, p, 'a symlink');
      }
      if (d.isDirectory()) await walk(p);
      else if (d.isFile()) {
        const problem = bundlePathProblem(p);
        if (problem) throw escapeError(root, p, problem);
        entries.set(p, { path: p, size: (await lstat(abs)).size });
      } else throw unsupported(root, p, 'a device, socket or FIFO');
    }
  };
  await walk('');
  return {
    kind: 'dir',
    root,
    entries,
    localPath: (p) => join(root, p),
    createReadStream: (p, range) => {
      if (!entries.has(p)) throw new Error(`no file ${p} in the bundle`);
      return createReadStream(join(root, p), { start: range?.start, end: range?.end, highWaterMark: 1 << 20 });
    },
  };
}

async function openTar(file: string, hash: boolean): Promise<BundleSource> {
  const entries = new Map<string, SourceEntry>();
  const extract = tar.extract();
  let problem: PalisadeError | undefined;
  const digests: Promise<void>[] = [];
  extract.on('entry', (header, stream, next) => {
    const name = normalizeBundlePath(header.name);
    // tar-stream records where the entry's data starts (after its header block)
    const offset = (header as { byteOffset?: number }).byteOffset;
    const fail = (e: PalisadeError): void => {
      problem ??= e;
    };
    if (header.type === 'directory') {
      if (name !== '' && name !== '.' && bundlePathProblem(name)) fail(escapeError(file, header.name, bundlePathProblem(name) as string));
    } else if (header.type === 'symlink') {
      if (bundlePathProblem(name) || symlinkEscapes(name, header.linkname ?? ''))
        fail(escapeError(file, header.name, `is a symlink pointing outside the bundle (to ${header.linkname})`));
      else fail(unsupported(file, header.name, 'a symlink'));
    } else if (header.type === 'file' || header.type === 'contiguous-file') {
      const p = bundlePathProblem(name);
      if (p) fail(escapeError(file, header.name, p));
      else if (entries.has(name))
        fail(
          new PalisadeError('bundle.duplicate-entry', `${file}: ${name} appears twice in the tar; the second copy would shadow the first`, {
            hint: 'the bundle was tampered with: do not use it',
          }),
        );
      else if (typeof offset !== 'number') fail(new PalisadeError('bundle.not-a-bundle', `${file}: cannot locate the data of ${name}`));
      else {
        const entry: SourceEntry = { path: name, size: header.size ?? 0, offset };
        entries.set(name, entry);
        if (hash) {
          // the next entry is read while workers still hash this one; a full window pauses the read
          const sink: HashSink = hashSink();
          stream.on('data', (c: unknown) => {
            if (!sink.update(c as Buffer)) {
              stream.pause();
              void sink.drained().then(() => stream.resume());
            }
          });
          stream.on('end', () => {
            digests.push(
              sink.digest().then((d) => {
                entry.sha256 = d.sha256;
              }),
            );
          });
        }
      }
    } else if (header.type === 'link') fail(unsupported(file, header.name, 'a hard link'));
    else fail(unsupported(file, header.name, `a ${header.type ?? 'special'} entry`));
    stream.on('end', next);
    // a truncated archive fails the entry's stream too; the pipeline below reports it once
    stream.on('error', () => undefined);
    stream.resume();
  });
  try {
    await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), extract);
  } catch (e) {
    const truncated = /unexpected end/i.test((e as Error).message);
    throw new PalisadeError(
      'bundle.not-a-bundle',
      truncated ? `${file} is truncated: the tar archive ends in the middle of an entry` : `${file} is not a readable tar archive (${(e as Error).message})`,
      {
        hint: truncated
          ? 'the copy is incomplete: copy the bundle again from the release and check its size'
          : 'a bundle is a directory or a plain, uncompressed .tar; decompress a .tar.gz first',
        cause: e,
      },
    );
  }
  await Promise.all(digests);
  if (problem) throw problem;
  return {
    kind: 'tar',
    root: file,
    entries,
    createReadStream: (p, range) => {
      const e = entries.get(p);
      if (!e || e.offset === undefined) throw new Error(`no file ${p} in the bundle`);
      if (e.size === 0) return Readable.from([]);
      const start = e.offset + (range?.start ?? 0);
      const end = e.offset + Math.min(range?.end ?? e.size - 1, e.size - 1);
      return createReadStream(file, { start, end, highWaterMark: 1 << 20 });
    },
  };
}
