import type { KeyObject } from 'node:crypto';
import { constants, createReadStream, createWriteStream, existsSync, statSync } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { buildInfo } from '../core/build-info.ts';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { CHECKSUMS_FILE, MANIFEST_FILE, SIGNATURE_FILE, renderChecksums } from './checksums.ts';
import { collectBlobs, readLayoutIndex, resolveManifest, type LayoutReader } from './layout.ts';
import { BUNDLE_API_VERSION, IMAGES_LAYOUT, PACKS_LAYOUT, renderManifest, type BundleManifest, type ImageComponent, type PackComponent } from './manifest.ts';
import { MT, REF_NAME, blobPath, formatImageRef, parseImageRef, type Descriptor } from './oci.ts';
import { comparePaths } from './paths.ts';
import { SBOM_PATH, generateSbom } from './sbom.ts';
import { keyFingerprint, renderSignature, signManifest } from './signing.ts';
import type { LoadedSpec } from './spec.ts';
import { PalisadeError, usageError } from '../core/errors.ts';
import { hashFile, hashParallelism, sha256Hex } from '../core/hash.ts';
import { mapLimit } from '../core/limit.ts';
import { buildPackArtifact } from './pack/artifact.ts';
import { dependencyProblems, loadPack } from './pack/pack.ts';

/**
 * Build a bundle from a release spec: plan every file (from disk or generated),
 * hash the files in parallel, write checksums.txt, the SBOM, bundle.yaml and
 * its signature, then write a directory or stream a tar straight from the
 * sources (no staging copy).
 */
type PlannedFile = { path: string; mode: number } & ({ src: string } | { data: Buffer });

export interface BuildOptions {
  spec: LoadedSpec;
  out: string;
  key: KeyObject;
  /** default: a .tar file when `out` ends in .tar, else a directory */
  format?: 'dir' | 'tar';
  /** overrides the spec's version */
  version?: string;
  /** fixed creation time (reproducible builds); default now */
  created?: string;
  concurrency?: number;
  onStep?: (message: string) => void;
  /** palisade's single executable, shipped as bin/palisade (checksummed and signed like every file) */
  executable?: { path: string; version: string };
}

export interface BuildResult {
  path: string;
  format: 'dir' | 'tar';
  manifest: BundleManifest;
  keyId: string;
  files: number;
  bytes: number;
}

/** bin/palisade: the single executable the operator takes out of the bundle onto the jump host */
export const EXECUTABLE_NAME = 'palisade';

const toolVersion = (): string => buildInfo().version;

const fsReader: LayoutReader = {
  has: (p) => existsSync(p),
  size: (p) => {
    try {
      const st = statSync(p);
      return st.isFile() ? st.size : undefined;
    } catch {
      return undefined;
    }
  },
  read: (p) => readFile(p),
};

const nameOf = (x: { name?: string | undefined; source: string }): string => x.name ?? basename(x.source);

async function fileSize(p: string): Promise<number | undefined> {
  try {
    const st = await stat(p);
    return st.isFile() ? st.size : undefined;
  } catch {
    return undefined;
  }
}

export async function buildBundle(opts: BuildOptions): Promise<BuildResult> {
  const { spec } = opts.spec;
  const step = opts.onStep ?? (() => undefined);
  const format = opts.format ?? (opts.out.endsWith('.tar') ? 'tar' : 'dir');
  const plan = new Map<string, PlannedFile>();
  const add = (f: PlannedFile): void => {
    if (plan.has(f.path)) throw usageError('release.duplicate', `${opts.spec.path}: two entries write ${f.path}`, 'give one of them another name');
    plan.set(f.path, f);
  };
  const requireFile = async (p: string, where: string): Promise<void> => {
    if ((await fileSize(p)) === undefined)
      throw usageError(
        'release.source-missing',
        `${where}: ${p} does not exist or is not a file`,
        'build or fetch it first, or fix the path in the release spec',
      );
  };

  // binaries and files
  const binaries: BundleManifest['components']['binaries'] = [];
  const files: BundleManifest['components']['files'] = [];
  for (const [i, b] of spec.binaries.entries()) {
    await requireFile(b.source, `binaries[${i}]`);
    add({ path: `bin/${nameOf(b)}`, src: b.source, mode: 0o755 });
  }
  const withExecutable = [...spec.binaries];
  if (opts.executable) {
    if (spec.binaries.some((b) => nameOf(b) === EXECUTABLE_NAME))
      throw usageError(
        'release.duplicate',
        `${opts.spec.path}: lists a binary named ${EXECUTABLE_NAME}, which the build adds itself`,
        'remove that entry from the release spec',
      );
    await requireFile(opts.executable.path, 'the palisade executable');
    add({ path: `bin/${EXECUTABLE_NAME}`, src: opts.executable.path, mode: 0o755 });
    withExecutable.push({ source: opts.executable.path, name: EXECUTABLE_NAME, version: opts.executable.version });
  }
  for (const [i, f] of spec.files.entries()) {
    await requireFile(f.source, `files[${i}]`);
    add({ path: `${f.dir}/${nameOf(f)}`, src: f.source, mode: 0o644 });
  }

  // images: one merged layout, each blob once
  step('reading image layouts');
  const images: ImageComponent[] = [];
  const imageIndex: Descriptor[] = [];
  const sizes = new Map<string, number>();
  for (const [i, sel] of spec.images.entries()) {
    let index;
    try {
      index = await readLayoutIndex(fsReader, sel.layout);
    } catch (e) {
      throw usageError(
        'release.layout',
        `images[${i}]: ${sel.layout} is not a readable OCI image layout (${(e as Error).message})`,
        'point `layout` at a directory holding oci-layout, index.json and blobs/',
      );
    }
    const picked = index.manifests.filter((d) => sel.ref === undefined || d.annotations?.[REF_NAME] === sel.ref);
    if (picked.length === 0) throw usageError('release.layout', `images[${i}]: ${sel.layout} has no image${sel.ref ? ` with ref ${sel.ref}` : ''}`);
    for (const desc of picked) {
      const refName = sel.image ?? desc.annotations?.[REF_NAME];
      let ref;
      try {
        ref = parseImageRef(refName ?? '');
      } catch (e) {
        throw usageError(
          'release.layout',
          `images[${i}]: ${sel.layout} ${desc.digest}: ${(e as Error).message}`,
          'set `image: repository:tag` in the spec for this layout',
        );
      }
      const node = await resolveManifest(fsReader, sel.layout, desc);
      const refStr = formatImageRef(ref);
      if (images.some((x) => formatImageRef(x) === refStr)) throw usageError('release.duplicate', `images: ${refStr} is listed twice`);
      const addBlob = (digest: string): void => {
        const path = blobPath(IMAGES_LAYOUT, digest);
        if (!plan.has(path)) add({ path, src: blobPath(sel.layout, digest), mode: 0o644 });
      };
      const walk = (n: typeof node): void => {
        addBlob(n.descriptor.digest);
        n.children.forEach(walk);
      };
      walk(node);
      let total = 0;
      for (const b of collectBlobs(node).values()) {
        addBlob(b.digest);
        total += b.size;
      }
      sizes.set(node.descriptor.digest, total);
      images.push({ ...ref, digest: desc.digest, mediaType: node.mediaType, layout: IMAGES_LAYOUT });
      imageIndex.push({ mediaType: node.mediaType, digest: desc.digest, size: desc.size, annotations: { [REF_NAME]: refStr } });
    }
  }
  if (imageIndex.length > 0) addLayout(add, IMAGES_LAYOUT, imageIndex);

  // packs
  step('building packs');
  const packs: PackComponent[] = [];
  const packIndex: Descriptor[] = [];
  const loaded = [];
  for (const p of spec.packs) loaded.push(await loadPack(p.dir));
  const deps = dependencyProblems(loaded.map((l) => l.meta));
  if (deps.length > 0)
    throw usageError(
      'release.pack-dependencies',
      `${opts.spec.path}: pack dependencies are not met`,
      'add the missing packs or fix the version constraints',
      deps,
    );
  for (const lp of loaded) {
    const art = await buildPackArtifact(lp);
    const refStr = `${art.repository}:${art.tag}`;
    if (packs.some((x) => `${x.repository}:${x.tag}` === refStr)) throw usageError('release.duplicate', `packs: ${refStr} is listed twice`);
    add({ path: blobPath(PACKS_LAYOUT, art.manifest.digest), data: art.manifestBytes, mode: 0o644 });
    for (const [digest, data] of art.blobs) {
      const path = blobPath(PACKS_LAYOUT, digest);
      if (!plan.has(path)) add({ path, data, mode: 0o644 });
    }
    packs.push({
      name: lp.meta.name,
      version: lp.meta.version,
      layer: lp.meta.layer,
      repository: art.repository,
      tag: art.tag,
      digest: art.manifest.digest,
      mediaType: MT.ociManifest,
      layout: PACKS_LAYOUT,
    });
    packIndex.push({ ...art.manifest, annotations: { [REF_NAME]: refStr } });
  }
  if (packIndex.length > 0) addLayout(add, PACKS_LAYOUT, packIndex);

  // hash every file from disk, in parallel; image blobs must match their names
  step(`hashing ${plan.size} files`);
  const digests = new Map<string, { sha256: string; size: number }>();
  await mapLimit([...plan.values()], opts.concurrency ?? hashParallelism(), async (f) => {
    const r = 'data' in f ? { sha256: sha256Hex(f.data), size: f.data.length } : await hashFile(f.src);
    const m = /\/blobs\/sha256\/([0-9a-f]{64})$/.exec(f.path);
    if (m && m[1] !== r.sha256) {
      throw new PalisadeError('release.blob-mismatch', `${'src' in f ? f.src : f.path}: content is sha256:${r.sha256}, not the digest it is stored under`, {
        hint: 'the source image layout is damaged: pull or build the image again',
      });
    }
    digests.set(f.path, r);
  });
  const digestOf = (p: string): { sha256: string; size: number } => digests.get(p) as { sha256: string; size: number };
  for (const b of withExecutable) {
    const p = `bin/${nameOf(b)}`;
    binaries.push({ name: nameOf(b), path: p, ...(b.version ? { version: b.version } : {}), ...digestOf(p) });
  }
  for (const f of spec.files) {
    const p = `${f.dir}/${nameOf(f)}`;
    files.push({ name: nameOf(f), path: p, ...digestOf(p) });
  }

  const created = opts.created ?? new Date().toISOString();
  const components = { binaries, files, images, packs };
  const base = { apiVersion: BUNDLE_API_VERSION, name: spec.name, version: opts.version ?? spec.version, created, components } as const;
  const sbom = Buffer.from(JSON.stringify(generateSbom({ manifest: base, toolVersion: toolVersion(), sizes }), null, 2) + '\n');
  add({ path: SBOM_PATH, data: sbom, mode: 0o644 });
  digests.set(SBOM_PATH, { sha256: sha256Hex(sbom), size: sbom.length });

  const checksums = Buffer.from(renderChecksums(new Map([...digests].map(([p, d]) => [p, d.sha256]))));
  const manifest: BundleManifest = {
    apiVersion: BUNDLE_API_VERSION,
    name: base.name,
    version: base.version,
    created,
    checksums: { path: CHECKSUMS_FILE, sha256: sha256Hex(checksums) },
    sbom: SBOM_PATH,
    components,
  };
  const manifestBytes = Buffer.from(renderManifest(manifest));
  const sig = Buffer.from(renderSignature(signManifest(manifestBytes, opts.key)));
  const meta: PlannedFile[] = [
    { path: MANIFEST_FILE, data: manifestBytes, mode: 0o644 },
    { path: SIGNATURE_FILE, data: sig, mode: 0o644 },
    { path: CHECKSUMS_FILE, data: checksums, mode: 0o644 },
  ];
  const ordered = [...meta, ...[...plan.values()].sort((a, b) => comparePaths(a.path, b.path))];

  step(`writing ${format === 'tar' ? 'tar' : 'directory'} ${opts.out}`);
  if (format === 'tar') await writeTar(opts.out, ordered, digests);
  else await writeDir(opts.out, ordered);
  const bytes = [...digests.values()].reduce((n, d) => n + d.size, 0);
  return { path: opts.out, format, manifest, keyId: keyFingerprint(opts.key), files: ordered.length, bytes };
}

function addLayout(add: (f: PlannedFile) => void, layout: string, manifests: Descriptor[]): void {
  const sorted = [...manifests].sort((a, b) => comparePaths(a.annotations?.[REF_NAME] ?? '', b.annotations?.[REF_NAME] ?? ''));
  add({ path: `${layout}/oci-layout`, data: Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })), mode: 0o644 });
  add({
    path: `${layout}/index.json`,
    data: Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MT.ociIndex, manifests: sorted }, null, 2) + '\n'),
    mode: 0o644,
  });
}

async function writeDir(out: string, files: PlannedFile[]): Promise<void> {
  const existing = await readdir(out).catch(() => undefined);
  if (existing && existing.length > 0) throw usageError('bundle.out-exists', `${out} exists and is not empty`, 'remove it, or choose another --out');
  await mkdir(out, { recursive: true });
  const dirs = new Set<string>();
  for (const f of files) {
    const d = dirname(join(out, f.path));
    if (!dirs.has(d)) {
      await mkdir(d, { recursive: true });
      dirs.add(d);
    }
  }
  await mapLimit(files, 4, async (f) => {
    const target = join(out, f.path);
    if ('data' in f) await writeFile(target, f.data, { mode: f.mode, flag: 'wx' });
    else {
      // a reflink where the file system has them, a plain copy otherwise
      await copyFile(f.src, target, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
      await chmod(target, f.mode);
    }
  });
}

async function writeTar(out: string, files: PlannedFile[], digests: Map<string, { sha256: string; size: number }>): Promise<void> {
  const tmp = `${out}.partial`;
  await rm(tmp, { force: true });
  const pack = tar.pack();
  const done = pipeline(pack, createWriteStream(tmp, { flags: 'wx' }));
  const mtime = new Date(0);
  try {
    for (const f of files) {
      const header = { name: f.path, mode: f.mode, mtime, uid: 0, gid: 0, uname: '', gname: '', type: 'file' as const };
      if ('data' in f) {
        await new Promise<void>((resolve, reject) => pack.entry({ ...header, size: f.data.length }, f.data, (e) => (e ? reject(e) : resolve())));
      } else {
        const size = digests.get(f.path)?.size ?? 0;
        await new Promise<void>((resolve, reject) => {
          const entry = pack.entry({ ...header, size }, (e) => (e ? reject(e) : resolve()));
          createReadStream(f.src, { highWaterMark: 1 << 20 })
            .on('error', reject)
            .pipe(entry);
        });
      }
    }
    pack.finalize();
    await done;
  } catch (e) {
    pack.destroy();
    await rm(tmp, { force: true });
    throw e;
  }
  await rename(tmp, out);
}
