import type { KeyObject } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CHECKSUMS_FILE, MANIFEST_FILE, SIGNATURE_FILE, parseChecksums } from './checksums.ts';
import { parseManifest, type BundleManifest } from './manifest.ts';
import { openSource, tooLarge, type BundleSource, type SourceEntry } from './source.ts';
import { trustedChecksums } from './trust-chain.ts';
import { PalisadeError } from '../core/errors.ts';
import { hashSink, sha256Hex } from '../core/hash.ts';

export interface Bundle {
  /** the path given to openBundle */
  readonly path: string;
  readonly kind: 'dir' | 'tar';
  readonly source: BundleSource;
  /** parsed bundle.yaml; trust it only after verifyBundle */
  readonly manifest: BundleManifest;
  readonly manifestBytes: Buffer;
  readonly files: ReadonlyMap<string, SourceEntry>;
  /**
   * Opened with the trusted key: the signature over these very bundle.yaml
   * bytes was checked, and checksums.txt against the digest they pin; every
   * file is then checked against those signed digests when it is used.
   */
  readonly trusted: boolean;
  /** the signed digests of every listed file (trusted bundles only) */
  readonly signedDigests: ReadonlyMap<string, string> | undefined;
  has(path: string): boolean;
  /** the signed SHA-256 (hex) of a file; only for a trusted bundle */
  digest(path: string): string;
  /** a stream of one file (or a byte range of it, `end` inclusive), as it is on disk */
  open(path: string, range?: { start?: number; end?: number }): Readable;
  /** a whole file; in a trusted bundle it must match its signed digest */
  read(path: string): Promise<Buffer>;
  /**
   * A local file holding `path`: the file itself for a directory bundle (pass
   * digest(path) to whatever uses it: it can still change); for a tar, a copy
   * in a private temp directory, checked while it is written against the signed
   * digest (trusted) or checksums.txt. Removed by close().
   */
  localPath(path: string): Promise<string>;
  close(): Promise<void>;
}

/** Files up to this size are read whole (manifests, indexes, configs). */
export const MAX_READ = 64 << 20;
/** bundle.yaml lists components, a few KiB each: anything near this size is not one palisade wrote */
export const MAX_MANIFEST = 4 << 20;

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
export function readManifestBytes(source: BundleSource): Promise<Buffer> {
  return source.readFile(MANIFEST_FILE, MAX_MANIFEST, `${source.root}: ${MANIFEST_FILE}`);
}

const changedAfterVerify = (bundle: string, p: string, got: string, want: string | undefined): PalisadeError =>
  new PalisadeError(
    'bundle.digest-mismatch',
    `${bundle}: ${p} ${want ? `is not the file that was signed (SHA-256 ${got.slice(0, 12)}…, signed ${want.slice(0, 12)}…)` : 'is not listed in checksums.txt'}: refused`,
    {
      hint: 'the bundle changed after it was verified, or is damaged: run `palisade bundle verify` and get it again from the release',
    },
  );

export interface OpenBundleOptions {
  /** check the signature and checksums.txt now, and every file against them when it is used */
  trustedKey?: KeyObject;
}

export async function openBundle(path: string, opts: OpenBundleOptions = {}): Promise<Bundle> {
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

  let signed: Map<string, string> | undefined;
  const bundle: Bundle = {
    path,
    kind: source.kind,
    source,
    manifest,
    manifestBytes,
    files: source.entries,
    get trusted() {
      return signed !== undefined;
    },
    get signedDigests() {
      return signed;
    },
    has: (p) => source.entries.has(p),
    digest: (p) => {
      if (!signed) throw new Error(`${path} was opened without the trusted key: it has no signed digests`);
      const d = signed.get(p);
      if (!d) throw changedAfterVerify(path, p, '', undefined);
      return d;
    },
    open: (p, range) => {
      if (!source.entries.has(p)) {
        throw new PalisadeError('bundle.missing-file', `${path}: ${p} is missing from the bundle`, {
          hint: 'run `palisade bundle verify` on it; get a complete bundle from the release',
        });
      }
      return source.createReadStream(p, range);
    },
    read: async (p) => {
      bundle.open(p); // refuses a missing file the same way
      const data = await source.readFile(p, MAX_READ, `${path}: ${p}`);
      if (!signed || p === SIGNATURE_FILE) return data;
      // the files that describe the others are held to what was verified too
      const want = p === MANIFEST_FILE ? sha256Hex(manifestBytes) : p === CHECKSUMS_FILE ? manifest.checksums.sha256 : bundle.digest(p);
      const got = sha256Hex(data);
      if (got !== want) throw changedAfterVerify(path, p, got, want);
      return data;
    },
    localPath: async (p) => {
      if (source.kind === 'dir') {
        if (!source.entries.has(p)) bundle.open(p);
        return join(source.root, p);
      }
      checksums ??= signed ?? (await unsignedChecksums(source, manifest, path));
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
        throw changedAfterVerify(path, p, got, want);
      }
      return out;
    },
    close: async () => {
      if (tmp) await rm(tmp, { recursive: true, force: true });
      tmp = undefined;
    },
  };
  if (opts.trustedKey) {
    try {
      signed = await trustedChecksums(bundle, opts.trustedKey);
    } catch (e) {
      await bundle.close();
      throw e;
    }
  }
  return bundle;
}

/** checksums.txt of a bundle opened without the key, held to the digest bundle.yaml pins for it. */
async function unsignedChecksums(source: BundleSource, manifest: BundleManifest, path: string): Promise<Map<string, string>> {
  if (!source.entries.has(CHECKSUMS_FILE)) return new Map();
  const text = await source.readFile(CHECKSUMS_FILE, MAX_READ, `${path}: ${CHECKSUMS_FILE}`);
  if (sha256Hex(text) !== manifest.checksums.sha256) {
    throw new PalisadeError('bundle.checksums-modified', `${path}: ${CHECKSUMS_FILE} does not match the digest in ${MANIFEST_FILE}`, {
      hint: 'run `palisade bundle verify` on it; get the bundle again from the release',
    });
  }
  return parseChecksums(text.toString('utf8'));
}
