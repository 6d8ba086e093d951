import { open, rename, unlink, mkdir } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { close as fsClose, createWriteStream, fchmod, fsync, open as fsOpen } from 'node:fs';
import { promisify } from 'node:util';
import { PalisadeError } from './errors.ts';

export interface AtomicWriteOptions {
  /** file mode, e.g. 0o600; applied to the temp file before any byte is written */
  mode?: number;
  /** create the parent directory (mode 0700) when missing */
  mkdirp?: boolean;
}

/**
 * The one atomic-write helper: write to a temp file beside the target, fsync it,
 * rename it over the target, fsync the directory. A crash leaves either the old
 * file or the new one, never a torn one.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): Promise<void> {
  try {
    await writeAtomically(path, data, opts);
  } catch (e) {
    throw writeError(path, e);
  }
}

/** A full or read-only file system is the operator's to fix: say so, and that the old file stands. */
export function writeError(path: string, e: unknown): unknown {
  const code = (e as NodeJS.ErrnoException)?.code;
  const why =
    code === 'ENOSPC'
      ? 'no space left on the device'
      : code === 'EDQUOT'
        ? 'the disk quota is exceeded'
        : code === 'EROFS'
          ? 'the file system is read-only'
          : undefined;
  if (!why) return e;
  return new PalisadeError('state.write', `cannot write ${path}: ${why}; the previous file is unchanged`, {
    hint: `free space on the file system that holds ${dirname(path)}, then run the same command again`,
    cause: e,
  });
}

async function writeAtomically(path: string, data: string | Uint8Array, opts: AtomicWriteOptions): Promise<void> {
  const dir = dirname(path);
  if (opts.mkdirp) await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const mode = opts.mode ?? 0o644;
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.chmod(mode);
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  await renameIntoPlace(tmp, path, dir);
}

export interface AtomicFile {
  /** the temp file's stream: write everything, then commit() */
  readonly stream: NodeJS.WritableStream;
  /** fsync, rename over the target, fsync the directory */
  commit(): Promise<void>;
  /** remove the temp file (after a failure); the target is untouched */
  abort(): Promise<void>;
}

/**
 * The streaming form of writeFileAtomic, for files too big to hold in memory
 * (backups): the same temp name, mode before the first byte, fsync and rename.
 */
export async function createAtomicFile(path: string, opts: AtomicWriteOptions = {}): Promise<AtomicFile> {
  const dir = dirname(path);
  if (opts.mkdirp) await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const mode = opts.mode ?? 0o644;
  // a plain descriptor: a FileHandle's close waits on the stream that holds it
  const fd = await promisify(fsOpen)(tmp, 'wx', mode);
  await promisify(fchmod)(fd, mode);
  const stream = createWriteStream('', { fd, autoClose: false });
  let closed = false;
  const closeFd = async () => {
    if (closed) return;
    closed = true;
    await promisify(fsClose)(fd);
  };
  return {
    stream,
    async commit() {
      if (!stream.writableFinished) await new Promise<void>((res, rej) => stream.once('error', rej).end(() => res()));
      await promisify(fsync)(fd);
      await closeFd();
      await renameIntoPlace(tmp, path, dir);
    },
    async abort() {
      stream.destroy();
      await closeFd().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
    },
  };
}

/** The last step of every atomic write: the complete temp file takes the name, and the directory entry is made durable. */
async function renameIntoPlace(tmp: string, path: string, dir: string): Promise<void> {
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}
