import type { KeyObject } from 'node:crypto';
import { CHECKSUMS_FILE, MANIFEST_FILE, META_FILES, SIGNATURE_FILE, parseChecksums } from './checksums.ts';
import { readLayoutIndex, resolveManifest, type LayoutReader } from './layout.ts';
import { parseManifest, type BundleManifest } from './manifest.ts';
import { MAX_READ, readManifestBytes } from './open.ts';
import { REF_NAME, formatImageRef } from './oci.ts';
import { comparePaths } from './paths.ts';
import { keyFingerprint, loadPublicKey, parseSignature, signatureValid } from './signing.ts';
import { openSource, type BundleSource } from './source.ts';
import { PalisadeError, isPalisadeError } from '../core/errors.ts';
import { hashFiles, hashParallelism, sha256Hex, warmHashWorkers, type Digest } from '../core/hash.ts';

export interface VerifyProblem {
  code: string;
  path?: string;
  message: string;
}

export interface VerifyReport {
  ok: boolean;
  bundle: string;
  name?: string;
  version?: string;
  /** fingerprint of the key that signed the bundle (when the signature is valid) */
  signedBy?: string;
  files: number;
  bytes: number;
  durationMs: number;
  problems: VerifyProblem[];
}

export interface VerifyOptions {
  /** files hashed at once (default: one per core) */
  concurrency?: number;
  onFile?: (path: string, size: number) => void;
}

const BLOB_RE = /^(.+)\/blobs\/sha256\/([0-9a-f]{64})$/;

const short = (hex: string): string => hex.slice(0, 12);

/**
 * Check a bundle and report every problem found (no throw for bundle defects;
 * throws only when the bundle cannot be read at all or has an escaping path).
 */
export async function checkBundle(path: string, trustedKey: KeyObject | string, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const started = Date.now();
  // the hashing threads boot while the file list is read
  warmHashWorkers();
  const key = typeof trustedKey === 'string' ? await loadPublicKey(trustedKey) : trustedKey;
  const source = await openSource(path);
  const present = [...source.entries.keys()].filter((p) => !META_FILES.has(p)).sort(comparePaths);
  // every file is hashed while the signature, the manifest and the image layouts are checked:
  // those take the main thread, the hashing takes the workers
  // (a refusal below abandons it; the command exits without waiting for it)
  const hashing = hashEntries(source, present, opts);
  hashing.catch(() => undefined);
  const problems: VerifyProblem[] = [];
  const adder =
    (to: VerifyProblem[]) =>
    (code: string, p: string | undefined, message: string): void => {
      to.push({ code, ...(p ? { path: p } : {}), message });
    };
  const add = adder(problems);
  const read = (p: string): Promise<Buffer> => source.readFile(p, MAX_READ, `${path}: ${p}`);

  // 1. signature over bundle.yaml
  let manifestBytes: Buffer | undefined;
  let signedBy: string | undefined;
  if (source.entries.has(MANIFEST_FILE)) manifestBytes = await readManifestBytes(source);
  else add('bundle.missing-file', MANIFEST_FILE, `${MANIFEST_FILE} is missing`);
  if (!source.entries.has(SIGNATURE_FILE)) {
    add('bundle.signature-missing', SIGNATURE_FILE, `${SIGNATURE_FILE} is missing: the bundle is not signed`);
  } else {
    try {
      const sig = parseSignature((await read(SIGNATURE_FILE)).toString('utf8'));
      const trustedId = keyFingerprint(key);
      if (sig.keyId !== trustedId) {
        add('bundle.untrusted-key', SIGNATURE_FILE, `the bundle is signed by key ${sig.keyId}, which is not the trusted key ${trustedId}`);
      } else if (!manifestBytes || !signatureValid(manifestBytes, sig, key)) {
        add('bundle.signature-bad', SIGNATURE_FILE, `the signature does not match ${MANIFEST_FILE}: the bundle was modified after it was signed`);
      } else signedBy = sig.keyId;
    } catch (e) {
      if (!isPalisadeError(e)) throw e;
      add(e.code, SIGNATURE_FILE, e.message);
    }
  }

  // 2. bundle.yaml and the checksums.txt it pins
  let manifest: BundleManifest | undefined;
  if (manifestBytes) {
    try {
      manifest = parseManifest(manifestBytes.toString('utf8'));
    } catch (e) {
      if (!isPalisadeError(e)) throw e;
      add(e.code, MANIFEST_FILE, e.message + (e.details.length ? `: ${e.details.map((d) => `${d.path}: ${d.message}`).join('; ')}` : ''));
    }
  }
  let listed: Map<string, string> | undefined;
  if (!source.entries.has(CHECKSUMS_FILE)) add('bundle.missing-file', CHECKSUMS_FILE, `${CHECKSUMS_FILE} is missing`);
  else {
    const text = await read(CHECKSUMS_FILE);
    const got = sha256Hex(text);
    if (manifest && manifest.checksums.sha256 !== got) {
      add(
        'bundle.checksums-modified',
        CHECKSUMS_FILE,
        `${CHECKSUMS_FILE} does not match the digest in ${MANIFEST_FILE} (${short(manifest.checksums.sha256)}…, file is ${short(got)}…)`,
      );
    }
    try {
      listed = parseChecksums(text.toString('utf8'));
    } catch (e) {
      if (!isPalisadeError(e)) throw e;
      add(e.code, CHECKSUMS_FILE, e.message);
    }
  }

  // 3. every listed file present, every present file listed, every digest right
  let bytes = 0;
  if (listed) {
    for (const p of listed.keys()) if (!source.entries.has(p)) add('bundle.missing-file', p, `${p} is listed in ${CHECKSUMS_FILE} but missing from the bundle`);
    for (const p of present) if (!listed.has(p)) add('bundle.unlisted-file', p, `${p} is in the bundle but not listed in ${CHECKSUMS_FILE}`);
  }
  // the layouts are read now; their problems are reported after the digests'
  const layoutProblems: VerifyProblem[] = [];
  if (manifest) await checkLayouts(source, manifest, adder(layoutProblems));
  const hashes = await hashing;
  for (const p of present) {
    const h = hashes.get(p);
    if (!h) continue;
    bytes += h.size;
    const want = listed?.get(p);
    if (want && want !== h.sha256)
      add('bundle.digest-mismatch', p, `${p}: digest mismatch (${CHECKSUMS_FILE} says ${short(want)}…, the file is ${short(h.sha256)}…)`);
    const blob = BLOB_RE.exec(p);
    if (blob && blob[2] !== h.sha256)
      add('bundle.oci-blob-mismatch', p, `${p}: OCI blob content is sha256:${short(h.sha256)}…, not the digest it is stored under`);
  }

  // 4. components: binaries match, images and packs resolve in their layouts
  if (manifest) checkFileComponents(source, manifest, hashes, add);
  problems.push(...layoutProblems);

  const report: VerifyReport = {
    ok: problems.length === 0,
    bundle: path,
    ...(manifest ? { name: manifest.name, version: manifest.version } : {}),
    ...(signedBy ? { signedBy } : {}),
    files: present.length,
    bytes,
    durationMs: Date.now() - started,
    problems,
  };
  return report;
}

/** Every file read and hashed by the worker pool, largest first: a directory's files whole, a tar's entries as byte ranges of it. */
function hashEntries(source: BundleSource, present: readonly string[], opts: VerifyOptions): Promise<Map<string, Digest>> {
  const files = present.map((p) => {
    const r = source.byteRange(p);
    const size = source.entries.get(p)?.size ?? 0;
    return { key: p, path: r.file, size, ...(r.size !== undefined ? { range: { start: r.start, end: r.start + r.size - 1 } } : {}) };
  });
  return hashFiles(files, { concurrency: opts.concurrency ?? hashParallelism(), ...(opts.onFile ? { onFile: opts.onFile } : {}) });
}

type AddProblem = (code: string, p: string | undefined, message: string) => void;

function checkFileComponents(source: BundleSource, manifest: BundleManifest, hashes: Map<string, Digest>, add: AddProblem): void {
  for (const c of [...manifest.components.binaries, ...manifest.components.files]) {
    const h = hashes.get(c.path);
    if (!h) {
      if (!source.entries.has(c.path)) add('bundle.missing-file', c.path, `${c.name}: ${c.path} named in ${MANIFEST_FILE} is missing`);
    } else if (h.sha256 !== c.sha256) add('bundle.digest-mismatch', c.path, `${c.name}: ${c.path} does not match the digest in ${MANIFEST_FILE}`);
  }
  if (manifest.sbom && !source.entries.has(manifest.sbom)) add('bundle.missing-file', manifest.sbom, `the SBOM ${manifest.sbom} is missing`);
}

/** Images and packs named in bundle.yaml resolve in their OCI layouts. */
async function checkLayouts(source: BundleSource, manifest: BundleManifest, add: AddProblem): Promise<void> {
  const reader: LayoutReader = {
    has: (p) => source.entries.has(p),
    size: (p) => source.entries.get(p)?.size,
    read: (p) => source.readFile(p, MAX_READ, `${source.root}: ${p}`),
  };
  const layouts = new Map<string, Awaited<ReturnType<typeof readLayoutIndex>> | null>();
  for (const c of [...manifest.components.images, ...manifest.components.packs]) {
    const ref = formatImageRef(c);
    try {
      let index = layouts.get(c.layout);
      if (index === undefined) {
        index = await readLayoutIndex(reader, c.layout).catch((e: unknown) => {
          if (isPalisadeError(e)) add(e.code, c.layout, e.message);
          return null;
        });
        layouts.set(c.layout, index);
      }
      if (!index) continue;
      const desc = index.manifests.find((d) => d.annotations?.[REF_NAME] === ref);
      if (!desc) {
        add('bundle.oci-invalid', c.layout, `${ref} is named in ${MANIFEST_FILE} but not in ${c.layout}/index.json`);
        continue;
      }
      if (desc.digest !== c.digest) {
        add('bundle.oci-invalid', c.layout, `${ref}: ${c.layout}/index.json points at ${desc.digest}, ${MANIFEST_FILE} at ${c.digest}`);
        continue;
      }
      await resolveManifest(reader, c.layout, desc);
    } catch (e) {
      if (!isPalisadeError(e)) throw e;
      add(e.code, c.layout, `${ref}: ${e.message}`);
    }
  }
}

/** Verify and throw one PalisadeError listing every problem; returns the report when the bundle is good. */
export async function verifyBundle(path: string, trustedKey: KeyObject | string, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const report = await checkBundle(path, trustedKey, opts);
  if (!report.ok) throw verifyError(report);
  return report;
}

export function verifyError(report: VerifyReport): PalisadeError {
  const first = report.problems[0] as VerifyProblem;
  const n = report.problems.length;
  return new PalisadeError(
    first.code,
    `bundle ${report.bundle} failed verification: ${first.message}${n > 1 ? ` (and ${n - 1} more problem${n > 2 ? 's' : ''})` : ''}`,
    {
      hint: 'do not install from this bundle: get it again from the release and check it with `palisade bundle verify`',
      details: report.problems.map((p) => ({ ...(p.path ? { path: p.path } : {}), message: `[${p.code}] ${p.message}` })),
    },
  );
}
