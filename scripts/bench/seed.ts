import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildTestBundle } from '../bundle/build-test-bundle.ts';
import { DEFAULT_BCRYPT_COST } from '../../installer/registry/htpasswd.ts';
import { makeTestPki, startRegistry } from '../../test/fixtures/bundle/harness.ts';
import { MiB, PALISADE, fmt, median, must, palisadeArgs, timed } from './seed-env.ts';

/**
 * Seeding benchmark. Builds a test bundle of about --size-mib of random image
 * content, starts two empty CNCF registries (TLS + htpasswd) on 127.0.0.1,
 * then in one run:
 *   - cold seed with `palisade registry seed` into registry A (wall time, peak RSS)
 *   - `skopeo copy` of the same images, one after another, into registry B
 *   - warm re-seed into registry A
 * and prints the ratios. Everything it makes is removed at the end.
 */
const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '1024' },
    images: { type: 'string', default: '8' },
    layers: { type: 'string', default: '4' },
    concurrency: { type: 'string', default: '4' },
    'bcrypt-cost': { type: 'string', default: String(DEFAULT_BCRYPT_COST) },
    keep: { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});

const images = Number(values.images);
const layers = Number(values.layers);
// the first layer is shared by all images; the multi-arch image adds ~1 layer's worth
const layerSize = Math.ceil((Number(values['size-mib']) * MiB) / (images * (layers - 1) + 2));

const workDir = await mkdtemp(join(tmpdir(), 'palisade-bench-seed-'));
const stops: Array<() => Promise<void>> = [];
try {
  process.stderr.write(`building the bench bundle: ${images} images x ${layers} layers of ${fmt(layerSize / MiB, 1)} MiB...\n`);
  const tb = await buildTestBundle({ workDir: join(workDir, 'bundle'), images, layers, layerSize });
  const imageBytes = tb.build.manifest.components.images.length;
  const pki = await makeTestPki(join(workDir, 'pki'));
  const users = { bench: 'bench-password-123' };
  const regA = await startRegistry({ dir: join(workDir, 'reg-a'), pki, users, bcryptCost: Number(values['bcrypt-cost']) });
  stops.push(() => regA.stop());
  const regB = await startRegistry({ dir: join(workDir, 'reg-b'), pki, users, bcryptCost: Number(values['bcrypt-cost']) });
  stops.push(() => regB.stop());
  const pw = join(workDir, 'pw');
  await writeFile(pw, users.bench, { mode: 0o600 });
  const certDir = join(workDir, 'certs');
  await mkdir(certDir);
  await writeFile(join(certDir, 'ca.crt'), pki.caPem);

  let blobBytes = 0;
  for (const f of await readdir(join(tb.path, 'images/blobs/sha256'))) blobBytes += (await stat(join(tb.path, 'images/blobs/sha256', f))).size;

  const seedArgs = (url: string): string[] => ['registry', 'seed', '--output', 'json', '--bundle', tb.path, '--trusted-key', tb.publicKeyPath, '--registry', url, '--ca', pki.caFile, '--username', 'bench', '--password-file', pw, '--concurrency', values.concurrency];

  // cold seed with palisade
  const cold = await palisadeArgs(workDir, seedArgs(regA.url));
  const tCold = must(await timed(process.execPath, cold.args, { rssFile: cold.rssFile }), 'palisade cold seed');
  process.stderr.write(`palisade cold seed: ${fmt(tCold.seconds)} s, peak RSS ${fmt((tCold.maxRss ?? 0) / MiB, 0)} MiB\n`);

  // skopeo copy of the same images into the second registry
  let tSkopeo = 0;
  for (const img of tb.build.manifest.components.images) {
    const ref = `${img.repository}:${img.tag}`;
    const t = must(await timed('skopeo', ['copy', '--all', '--quiet', '--dest-cert-dir', certDir, '--dest-creds', `bench:${users.bench}`, `oci:${join(tb.path, 'images')}:${ref}`, `docker://127.0.0.1:${regB.port}/${ref}`]), `skopeo copy ${ref}`);
    tSkopeo += t.seconds;
  }
  process.stderr.write(`skopeo copy (${imageBytes} images, one after another): ${fmt(tSkopeo)} s\n`);

  // warm re-seed
  const warm = await palisadeArgs(workDir, seedArgs(regA.url));
  const tWarm = must(await timed(process.execPath, warm.args, { rssFile: warm.rssFile }), 'palisade warm re-seed');
  process.stderr.write(`palisade warm re-seed: ${fmt(tWarm.seconds)} s\n`);

  // process start-up alone (Node, tsx, module loading), to tell it apart from the seeding work
  const startups: number[] = [];
  for (let i = 0; i < 3; i++) startups.push(must(await timed(process.execPath, [PALISADE, '--version']), 'palisade --version').seconds);
  const startup = median(startups);
  const work = (t: { stdout: string }): number => (JSON.parse(t.stdout) as { durationMs: number }).durationMs / 1000;

  // sanity: the seeded registry verifies
  const ver = await palisadeArgs(workDir, ['registry', 'verify', '--bundle', tb.path, '--registry', regA.url, '--ca', pki.caFile, '--username', 'bench', '--password-file', pw]);
  must(await timed(process.execPath, ver.args), 'registry verify');

  const result = {
    bundleImageMiB: Math.round(blobBytes / MiB),
    images: imageBytes,
    layersPerImage: layers,
    concurrency: Number(values.concurrency),
    palisadeColdSeconds: Number(fmt(tCold.seconds)),
    skopeoSeconds: Number(fmt(tSkopeo)),
    coldVsSkopeo: Number(fmt(tCold.seconds / tSkopeo)),
    palisadeWarmSeconds: Number(fmt(tWarm.seconds)),
    warmVsCold: Number(fmt(tWarm.seconds / tCold.seconds, 3)),
    peakRssMiB: Math.round((tCold.maxRss ?? 0) / MiB),
    startupSeconds: Number(fmt(startup)),
    coldWorkSeconds: Number(fmt(work(tCold))),
    warmWorkSeconds: Number(fmt(work(tWarm), 3)),
    warmVsColdWork: Number(fmt(work(tWarm) / work(tCold), 3)),
  };
  process.stdout.write(`
seed benchmark: ${result.bundleImageMiB} MiB of image blobs, ${result.images} images, ${result.layersPerImage} layers each, registry = docker-registry 2.8 on 127.0.0.1 (TLS + htpasswd, bcrypt cost ${values['bcrypt-cost']})
  palisade registry seed (cold)   ${fmt(tCold.seconds)} s
  skopeo copy (same images)       ${fmt(tSkopeo)} s
  ratio cold / skopeo             ${result.coldVsSkopeo}   (aim <= 0.7)
  palisade re-seed (warm)         ${fmt(tWarm.seconds)} s
  ratio warm / cold               ${result.warmVsCold}   (aim <= 0.05; whole commands)
    of which process start-up     ${result.startupSeconds} s per command (palisade --version)
    seeding work, warm / cold     ${result.warmWorkSeconds} s / ${result.coldWorkSeconds} s = ${result.warmVsColdWork}
  peak RSS of palisade (cold)     ${result.peakRssMiB} MiB   (aim < 250)
`);
  if (values.json) await writeFile(values.json, JSON.stringify(result, null, 2) + '\n');
} finally {
  for (const s of stops.reverse()) await s().catch(() => undefined);
  if (!values.keep) await rm(workDir, { recursive: true, force: true });
  else process.stderr.write(`kept ${workDir}\n`);
}
