import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createPrivateKey } from 'node:crypto';
import { buildBundle, type BuildResult } from '../../installer/bundle/build.ts';
import { generateSigningKey } from '../../installer/bundle/signing.ts';
import { loadSpec } from '../../installer/bundle/spec.ts';
import { generateTestImages, type TestImage } from './test-images.ts';
import { buildTestDeb, packageSetFiles } from './os-packages.ts';
import { mkdirSync, readdirSync } from 'node:fs';
import { buildExecutable } from '../build/sea.mjs';

/**
 * A small but realistic bundle for tests, the demo and the benchmarks:
 * random-content OCI images (several layers, one shared base layer, one
 * two-platform index), the packs of images/packs/, and the CNCF registry
 * binary as bin/registry, from images/release/test.yaml; from the command line
 * also palisade's single executable as bin/palisade, as a release carries it.
 *
 * With k3sVersion the k3s stand-in is shipped reporting that version (and the
 * k3s pack carries it), so bundles of two or more versions can be upgraded
 * from one to the next; bundles built with reuseKey share one signing key.
 */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const TEST_SPEC = join(REPO_ROOT, 'images', 'release', 'test.yaml');

export interface TestBundleOptions {
  /** working directory: images/, keys/ and the bundle go here */
  workDir: string;
  /** bundle path (default WORK/bundle, or WORK/bundle.tar with tar) */
  out?: string;
  tar?: boolean;
  images?: number;
  layers?: number;
  layerSize?: number;
  spec?: string;
  seed?: string;
  /** bin/palisade; `true`: the checkout's single executable (built first when stale) */
  executable?: boolean | { path: string; version: string };
  /** .deb files for the OS package set (os/packages/ + os/Packages) */
  osPackages?: string[];
  /** extra files: a directory's files placed under `dir` in the bundle (vulndb/) */
  extraDirs?: Array<{ source: string; dir: string }>;
  /** ship the k3s stand-in reporting this version (default: the spec's) */
  k3sVersion?: string;
  /** bundle.yaml version (default: the spec's) */
  bundleVersion?: string;
  /** sign with WORK/keys/bundle-signing.key when it exists (bundles of one series share a trusted key) */
  reuseKey?: boolean;
}

export const STANDIN = join(REPO_ROOT, 'scripts', 'bundle', 'k3s-standin', 'k3s');

/** A copy of the stand-in that reports `version` (the version is part of the binary, as with k3s). */
async function standinAt(dir: string, version: string): Promise<string> {
  if (!/^v\d+\.\d+\.\d+\+k3s\d+$/.test(version)) throw new Error(`k3s version ${version}: must look like v1.30.6+k3s1`);
  const text = await readFile(STANDIN, 'utf8');
  const out = join(dir, 'k3s');
  await mkdir(dir, { recursive: true });
  await writeFile(out, text.replace(/^VERSION = "[^"]*"$/m, `VERSION = "${version}"`), { mode: 0o755 });
  return out;
}

/**
 * A pack whose k3s range stops below `version` ("<1.31.0") comes as its next patch release
 * supporting the next minor, as a release of that pack would; other packs are used as they are.
 */
async function packFor(dir: string, source: string, version: string): Promise<string> {
  const pj = JSON.parse(await readFile(join(source, 'pack.json'), 'utf8')) as {
    name: string;
    version: string;
    dependencies?: Array<{ name: string; version: string }>;
  };
  const minor = Number(version.split('.')[1]);
  const dep = pj.dependencies?.find((d) => d.name === 'k3s');
  const upper = dep ? /<1\.(\d+)\.0/.exec(dep.version) : null;
  if (!dep || !upper || Number(upper[1]) > minor) return source;
  dep.version = dep.version.replace(/<1\.\d+\.0/, `<1.${minor + 1}.0`);
  pj.version = pj.version.replace(/\.(\d+)$/, (_m, p: string) => `.${Number(p) + 1}`);
  const out = join(dir, pj.name);
  await cp(source, out, { recursive: true });
  await writeFile(join(out, 'pack.json'), JSON.stringify(pj, null, 2) + '\n');
  return out;
}

/** The k3s pack at the cluster version it goes with. */
async function k3sPackAt(dir: string, source: string, version: string): Promise<string> {
  const out = join(dir, 'k3s');
  await cp(source, out, { recursive: true });
  const pj = JSON.parse(await readFile(join(out, 'pack.json'), 'utf8')) as { version: string };
  pj.version = version.replace(/^v/, '').replace(/\+.*$/, '');
  await writeFile(join(out, 'pack.json'), JSON.stringify(pj, null, 2) + '\n');
  return out;
}

export interface TestBundle {
  path: string;
  privateKeyPath: string;
  publicKeyPath: string;
  publicKeyPem: string;
  images: TestImage[];
  imagesLayout: string;
  build: BuildResult;
}

export async function buildTestBundle(o: TestBundleOptions): Promise<TestBundle> {
  const imagesLayout = join(o.workDir, 'images');
  const keysDir = join(o.workDir, 'keys');
  await mkdir(keysDir, { recursive: true, mode: 0o700 });
  const images = await generateTestImages({ dir: imagesLayout, images: o.images, layers: o.layers, layerSize: o.layerSize, seed: o.seed });
  const privateKeyPath = join(keysDir, 'bundle-signing.key');
  const publicKeyPath = join(keysDir, 'bundle-signing.pub');
  const kept = o.reuseKey ? await Promise.all([readFile(privateKeyPath, 'utf8'), readFile(publicKeyPath, 'utf8')]).catch(() => undefined) : undefined;
  const key = kept ? { privateKeyPem: kept[0], publicKeyPem: kept[1] } : generateSigningKey();
  if (!kept) {
    await writeFile(privateKeyPath, key.privateKeyPem, { mode: 0o600 });
    await writeFile(publicKeyPath, key.publicKeyPem);
  }
  const spec = await loadSpec(o.spec ?? TEST_SPEC, { ...process.env, PALISADE_TEST_IMAGES: imagesLayout });
  if (o.k3sVersion) {
    const v = o.k3sVersion;
    const dir = join(o.workDir, `k3s-${v}`);
    const bin = await standinAt(dir, v);
    spec.spec.binaries = spec.spec.binaries.map((b) => (b.name === 'k3s' ? { ...b, source: bin, version: v } : b));
    spec.spec.packs = await Promise.all(
      spec.spec.packs.map(async (p) => ({
        dir: p.dir.endsWith('/k3s') ? await k3sPackAt(join(dir, 'packs'), p.dir, v) : await packFor(join(dir, 'packs'), p.dir, v),
      })),
    );
  }
  if (o.bundleVersion) spec.spec.version = o.bundleVersion;
  if (o.osPackages?.length) spec.spec.files.push(...packageSetFiles(o.osPackages, join(o.workDir, 'os-index')));
  for (const x of o.extraDirs ?? []) for (const f of readdirSync(x.source).sort()) spec.spec.files.push({ source: join(x.source, f), name: f, dir: x.dir });
  const out = o.out ?? join(o.workDir, o.tar ? 'bundle.tar' : 'bundle');
  const executable = o.executable === true ? await checkoutExecutable() : o.executable || undefined;
  const build = await buildBundle({
    spec,
    out,
    key: createPrivateKey(key.privateKeyPem),
    format: o.tar ? 'tar' : 'dir',
    ...(executable ? { executable } : {}),
  });
  return { path: out, privateKeyPath, publicKeyPath, publicKeyPem: key.publicKeyPem, images, imagesLayout, build };
}

/** dist/palisade, rebuilt when the sources changed since it was built */
export async function checkoutExecutable(): Promise<{ path: string; version: string }> {
  const exe = await buildExecutable({ quiet: true });
  const { version } = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  return { path: exe.path, version };
}

/** One bundle per k3s version, in order, all signed by one key: WORK/bundle-<version> (or .tar). */
export async function buildTestBundles(o: Omit<TestBundleOptions, 'k3sVersion' | 'out' | 'reuseKey'>, versions: readonly string[]): Promise<TestBundle[]> {
  const out: TestBundle[] = [];
  for (const [i, v] of versions.entries()) {
    out.push(
      await buildTestBundle({
        ...o,
        k3sVersion: v,
        bundleVersion: `0.0.${i + 1}-test`,
        reuseKey: i > 0,
        out: join(o.workDir, `bundle-${v}${o.tar ? '.tar' : ''}`),
      }),
    );
  }
  return out;
}

const MiB = 1 << 20;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      work: { type: 'string', default: '.cache/test-bundle' },
      out: { type: 'string' },
      tar: { type: 'boolean', default: false },
      images: { type: 'string', default: '3' },
      layers: { type: 'string', default: '3' },
      'layer-mib': { type: 'string', default: '1' },
      spec: { type: 'string' },
      'no-executable': { type: 'boolean', default: false },
      'k3s-version': { type: 'string' },
      'k3s-versions': { type: 'string' },
      'os-package': { type: 'string', multiple: true },
      'test-os-packages': { type: 'boolean', default: false },
      vulndb: { type: 'string' },
      'reuse-key': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`usage: scripts/bundle/build-test-bundle [--work DIR] [--out PATH] [--tar] [--images N] [--layers N] [--layer-mib N] [--spec FILE] [--no-executable]
                                        [--os-package FILE.deb]... [--test-os-packages] [--vulndb DIR]
  bin/palisade is the checkout's single executable (built first when the sources changed; --no-executable leaves it out).
  Total image content is about images x layers x layer-mib MiB (the first layer is shared).
  --k3s-version V ships the k3s stand-in reporting V (e.g. v1.30.6+k3s1); with --reuse-key it is
  signed by WORK/keys' existing key, so a bundle for \`palisade upgrade\` has the same trusted key.
  --k3s-versions V1,V2,... builds one bundle per version, WORK/bundle-<V>, all signed by one key:
  an upgrade series (install the first, \`palisade upgrade\` to the next).
  --os-package FILE.deb (repeatable) adds a package to the OS package set (os/packages/, indexed in os/Packages);
  --test-os-packages adds palisade-patch-probe 1.1 (built with dpkg-deb; its postinst asks for a reboot);
  --vulndb DIR adds a directory of OSV records and its metadata.json as vulndb/.
  Prints the bundle path and the public key path; the signing key stays in WORK/keys/.\n`);
    return;
  }
  const layerSize = Math.round(Number(values['layer-mib']) * MiB);
  const debs = [...(values['os-package'] ?? []).map((p) => resolve(p))];
  if (values['test-os-packages']) {
    const d = resolve(values.work, 'debs');
    mkdirSync(d, { recursive: true });
    debs.push(buildTestDeb(d, { name: 'palisade-patch-probe', version: '1.1', reboot: true }));
  }
  if (values['k3s-versions']) {
    const versions = values['k3s-versions']
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean);
    const rs = await buildTestBundles(
      {
        workDir: resolve(values.work),
        tar: values.tar,
        images: Number(values.images),
        layers: Number(values.layers),
        layerSize,
        ...(values.spec ? { spec: values.spec } : {}),
        executable: !values['no-executable'],
      },
      versions,
    );
    for (const r of rs) process.stdout.write(`bundle: ${r.path} (k3s ${r.build.manifest.components.binaries.find((b) => b.name === 'k3s')?.version ?? '?'})\n`);
    process.stdout.write(`trusted key: ${rs[0]!.publicKeyPath}\n`);
    return;
  }
  const r = await buildTestBundle({
    workDir: resolve(values.work),
    ...(values.out ? { out: resolve(values.out) } : {}),
    tar: values.tar,
    images: Number(values.images),
    layers: Number(values.layers),
    layerSize,
    ...(values.spec ? { spec: values.spec } : {}),
    executable: !values['no-executable'],
    ...(values['k3s-version'] ? { k3sVersion: values['k3s-version'] } : {}),
    ...(debs.length ? { osPackages: debs } : {}),
    ...(values.vulndb ? { extraDirs: [{ source: resolve(values.vulndb), dir: 'vulndb' }] } : {}),
    reuseKey: values['reuse-key'],
  });
  const exe = r.build.manifest.components.binaries.find((b) => b.path === 'bin/palisade');
  process.stdout.write(
    `bundle: ${r.path}\n${r.build.files} files, ${(r.build.bytes / MiB).toFixed(1)} MiB, signed by ${r.build.keyId}\ntrusted key: ${r.publicKeyPath}\n${exe ? `bin/palisade sha256 ${exe.sha256}\n` : ''}`,
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(1);
  });
}
