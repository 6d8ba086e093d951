import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createPrivateKey } from 'node:crypto';
import { buildBundle, type BuildResult } from '../../installer/bundle/build.ts';
import { generateSigningKey } from '../../installer/bundle/signing.ts';
import { loadSpec } from '../../installer/bundle/spec.ts';
import { generateTestImages, type TestImage } from './test-images.ts';
import { buildExecutable } from '../build/sea.mjs';

/**
 * A small but realistic bundle for tests, the demo and the benchmarks:
 * random-content OCI images (several layers, one shared base layer, one
 * two-platform index), the packs of images/packs/, and the CNCF registry
 * binary as bin/registry, from images/release/test.yaml; from the command line
 * also palisade's single executable as bin/palisade, as a release carries it.
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
  const key = generateSigningKey();
  const privateKeyPath = join(keysDir, 'bundle-signing.key');
  const publicKeyPath = join(keysDir, 'bundle-signing.pub');
  await writeFile(privateKeyPath, key.privateKeyPem, { mode: 0o600 });
  await writeFile(publicKeyPath, key.publicKeyPem);
  const spec = await loadSpec(o.spec ?? TEST_SPEC, { ...process.env, PALISADE_TEST_IMAGES: imagesLayout });
  const out = o.out ?? join(o.workDir, o.tar ? 'bundle.tar' : 'bundle');
  const executable = o.executable === true ? await checkoutExecutable() : o.executable || undefined;
  const build = await buildBundle({ spec, out, key: createPrivateKey(key.privateKeyPem), format: o.tar ? 'tar' : 'dir', ...(executable ? { executable } : {}) });
  return { path: out, privateKeyPath, publicKeyPath, publicKeyPem: key.publicKeyPem, images, imagesLayout, build };
}

/** dist/palisade, rebuilt when the sources changed since it was built */
export async function checkoutExecutable(): Promise<{ path: string; version: string }> {
  const exe = await buildExecutable({ quiet: true });
  const { version } = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  return { path: exe.path, version };
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
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`usage: scripts/bundle/build-test-bundle [--work DIR] [--out PATH] [--tar] [--images N] [--layers N] [--layer-mib N] [--spec FILE] [--no-executable]
  bin/palisade is the checkout's single executable (built first when the sources changed; --no-executable leaves it out).
  Total image content is about images x layers x layer-mib MiB (the first layer is shared).
  Prints the bundle path and the public key path; the signing key stays in WORK/keys/.\n`);
    return;
  }
  const layerSize = Math.round(Number(values['layer-mib']) * MiB);
  const r = await buildTestBundle({
    workDir: resolve(values.work), ...(values.out ? { out: resolve(values.out) } : {}), tar: values.tar,
    images: Number(values.images), layers: Number(values.layers), layerSize, ...(values.spec ? { spec: values.spec } : {}),
    executable: !values['no-executable'],
  });
  const exe = r.build.manifest.components.binaries.find((b) => b.path === 'bin/palisade');
  process.stdout.write(`bundle: ${r.path}\n${r.build.files} files, ${(r.build.bytes / MiB).toFixed(1)} MiB, signed by ${r.build.keyId}\ntrusted key: ${r.publicKeyPath}\n${exe ? `bin/palisade sha256 ${exe.sha256}\n` : ''}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(1);
  });
}
