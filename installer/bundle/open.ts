import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CHECKSUMS_FILE, MANIFEST_FILE, parseChecksums } from './checksums.ts';
import { parseManifest, type BundleManifest } from './manifest.ts';
import { openSource, type BundleSource, type SourceEntry } from './source.ts';
import { PalisadeError } from '../core/errors.ts';
import { hashSink } from '../core/hash.ts';

export interface Bundle {
  /** the path given to openBundle */
  readonly path: string;
  readonly kind: 'dir' | 'tar';
  readonly source: BundleSource;
  /** parsed bundle.yaml; trust it only after verifyBundle */
  readonly manifest: BundleManifest;
  readonly manifestBytes: Buffer;
  readonly files: ReadonlyMap<string, SourceEntry>;
  has(path: string): boolean;
  /** a stream of one file (or a byte range of it, `end` inclusive) */
  open(path: string, range?: { start?: number; end?: number }): Readable;
  read(path: string): Promise<Buffer>;
  /**
   * A local file holding `path`: the file itself for a directory bundle; for a
   * tar, a copy in a private temp directory, checked against checksums.txt
   * while it is written. Removed by close().
   */
  localPath(path: string): Promise<string>;
  close(): Promise<void>;
}

/** Files up to this size are read whole (manifests, indexes, configs). */
export const MAX_READ = 64 << 20;
/** bundle.yaml lists components, a few KiB each: anything near this size is not one palisade wrote */
export const MAX_MANIFEST = 4 << 20;

const tooLarge = (what: string, limit: number): PalisadeError =>
  new PalisadeError('bundle.file-too-large', `${what} is larger than ${limit >> 20} MiB, more than any bundle palisade builds holds there`, {
    hint: 'the bundle is damaged or was crafted: do not use it; get it again from the release',
  });

/** Read a whole (small) file of a bundle; `what` names it in the refusal when it is over `limit`. */
export async function readAll(stream: Readable, limit = MAX_READ, what = 'a bundle file'): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of stream) {
    n += (c as Buffer).length;
    if (n > limit) {
      stream.destroy();
      throw tooLarge(what, limit);
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Read bundle.yaml, refusing an oversize one before reading it. */
export async function readManifestBytes(source: BundleSource): Promise<Buffer> {
  if ((source.entries.get(MANIFEST_FILE)?.size ?? 0) > MAX_MANIFEST) throw tooLarge(`${source.root}: ${MANIFEST_FILE}`, MAX_MANIFEST);
  return readAll(source.createReadStream(MANIFEST_FILE), MAX_MANIFEST, `${source.root}: ${MANIFEST_FILE}`);
}

export async function openBundle(path: string): Promise<Bundle> {
  const source = await openSource(path);
  if (!source.entries.has(MANIFEST_FILE)) {
    throw new PalisadeError('bundle.missing-file', `${path} has no ${MANIFEST_FILE}: it is not a palisade bundle, or it is incomplete`, {
      hint: 'give the bundle directory or .tar written by `palisade bundle build`',
    });
  }
  const manifestBytes = await readManifestBytes(source);
  const manifest = parseManifest(manifestBytes.toString('utf8'));
  let tmp: string | undefined;
  let counter = 0;
  let checksums: Map<string, string> | undefined;

  const bundle: Bundle = {
    path,
    kind: source.kind,
    source,
    manifest,
    manifestBytes,
    files: source.entries,
    has: (p) => source.entries.has(p),
    open: (p, range) => {
      if (!source.entries.has(p)) {
        throw new PalisadeError('bundle.missing-file', `${path}: ${p} is missing from the bundle`, { hint: 'run `palisade bundle verify` on it; get a complete bundle from the release' });
      }
      return source.createReadStream(p, range);
    },
    read: async (p) => readAll(bundle.open(p), MAX_READ, `${path}: ${p}`),
    localPath: async (p) => {
      if (source.kind === 'dir') {
        if (!source.entries.has(p)) bundle.open(p);
        return join(source.root, p);
      }
      checksums ??= source.entries.has(CHECKSUMS_FILE) ? parseChecksums((await bundle.read(CHECKSUMS_FILE)).toString('utf8')) : new Map();
      tmp ??= await mkdtemp(join(tmpdir(), 'palisade-bundle-'));
      const dir = join(tmp, String(counter++));
      await mkdir(dir, { mode: 0o700 });
      const out = join(dir, basename(p));
      const sink = hashSink();
      const input = bundle.open(p);
      input.on('data', (c: Buffer) => {
        if (!sink.update(c)) {
          input.pause();
          void sink.drained().then(() => input.resume());
        }
      });
      await pipeline(input, createWriteStream(out, { mode: 0o700 }));
      const want = checksums.get(p);
      const got = (await sink.digest()).sha256;
      if (want !== got) {
        await rm(out, { force: true });
        throw new PalisadeError('bundle.digest-mismatch', `${path}: ${p} does not match checksums.txt${want ? '' : ' (not listed)'}`, { hint: 'run `palisade bundle verify`; the bundle is damaged or was tampered with' });
      }
      return out;
    },
    close: async () => {
      if (tmp) await rm(tmp, { recursive: true, force: true });
      tmp = undefined;
    },
  };
  return bundle;
}
