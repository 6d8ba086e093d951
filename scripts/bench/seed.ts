import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildTestBundle } from '../bundle/build-test-bundle.ts';
import { DEFAULT_BCRYPT_COST } from '../../installer/pki/htpasswd.ts';
import { makeTestPki, startRegistry } from '../../test/fixtures/bundle/harness.ts';
import { MiB, PALISADE, fmt, median, must, palisadeArgs, timed, type Timed } from './seed-env.ts';

/**
 * Seeding benchmark. Builds a test bundle of about --size-mib of random image
 * content; then, each round, starts two empty CNCF registries (TLS + htpasswd)
 * on 127.0.0.1 and measures, in one process:
 *   - cold seed with `palisade registry seed` into registry A (wall time, peak RSS)
 *   - `skopeo copy` of the same images, one after another, into registry B
 *     (who goes first alternates between rounds)
 *   - warm re-seed into registry A
 * and prints medians and ratios. Everything it makes is removed at the end.
 */
const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '1024' },
    images: { type: 'string', default: '8' },
    layers: { type: 'string', default: '4' },
    concurrency: { type: 'string', default: '4' },
    'bcrypt-cost': { type: 'string', default: String(DEFAULT_BCRYPT_COST) },
    keep: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '3' },
    json: { type: 'string' },
  },
});

const images = Number(values.images);
const layers = Number(values.layers);
// the first layer is shared by all images; the multi-arch image adds ~1 layer's worth
const layerSize = Math.ceil((Number(values['size-mib']) * MiB) / (images * (layers - 1) + 2));

const workDir = await mkdtemp(join(tmpdir(), 'palisade-bench-seed-'));
try {
  process.stderr.write(`building the bench bundle: ${images} images x ${layers} layers of ${fmt(layerSize / MiB, 1)} MiB...\n`);
  const tb = await buildTestBundle({ workDir: join(workDir, 'bundle'), images, layers, layerSize });
  const imageBytes = tb.build.manifest.components.images.length;
  const pki = await makeTestPki(join(workDir, 'pki'));
  const users = { bench: 'bench-password-123' };
  const pw = join(workDir, 'pw');
  await writeFile(pw, users.bench, { mode: 0o600 });
  const certDir = join(workDir, 'certs');
  await mkdir(certDir);
  await writeFile(join(certDir, 'ca.crt'), pki.caPem);

  let blobBytes = 0;
  for (const f of await readdir(join(tb.path, 'images/blobs/sha256'))) blobBytes += (await stat(join(tb.path, 'images/blobs/sha256', f))).size;

  const seedArgs = (url: string): string[] => ['registry', 'seed', '--output', 'json', '--bundle', tb.path, '--trusted-key', tb.publicKeyPath, '--registry', url, '--ca', pki.caFile, '--username', 'bench', '--password-file', pw, '--concurrency', values.concurrency];
  const work = (t: { stdout: string }): number => (JSON.parse(t.stdout) as { durationMs: number }).durationMs / 1000;
  const cost = Number(values['bcrypt-cost']);
  const rounds: Array<{ cold: number; skopeo: number; warm: number; coldWork: number; warmWork: number; rss: number }> = [];

  for (let round = 0; round < Number(values.rounds); round++) {
    // two empty registries per round: A for palisade, B for skopeo
    const regA = await startRegistry({ dir: join(workDir, `reg-a-${round}`), pki, users, bcryptCost: cost });
    const regB = await startRegistry({ dir: join(workDir, `reg-b-${round}`), pki, users, bcryptCost: cost });
    try {
      const runPalisade = async (): Promise<Timed> => {
        const a = await palisadeArgs(workDir, seedArgs(regA.url));
        return must(await timed(process.execPath, a.args, { rssFile: a.rssFile }), 'palisade cold seed');
      };
      const runSkopeo = async (): Promise<number> => {
        let total = 0;
        for (const img of tb.build.manifest.components.images) {
          const ref = `${img.repository}:${img.tag}`;
          const t = must(await timed('skopeo', ['copy', '--all', '--quiet', '--dest-cert-dir', certDir, '--dest-creds', `bench:${users.bench}`, `oci:${join(tb.path, 'images')}:${ref}`, `docker://127.0.0.1:${regB.port}/${ref}`]), `skopeo copy ${ref}`);
          total += t.seconds;
        }
        return total;
      };
      // alternate who goes first, so page cache and background load do not favour one side
      let tCold: Timed;
      let tSkopeo: number;
      if (round % 2 === 0) {
        tCold = await runPalisade();
        tSkopeo = await runSkopeo();
      } else {
        tSkopeo = await runSkopeo();
        tCold = await runPalisade();
      }
      const w = await palisadeArgs(workDir, seedArgs(regA.url));
      const tWarm = must(await timed(process.execPath, w.args), 'palisade warm re-seed');
      if (round === 0) {
        const ver = await palisadeArgs(workDir, ['registry', 'verify', '--bundle', tb.path, '--registry', regA.url, '--ca', pki.caFile, '--username', 'bench', '--password-file', pw]);
        must(await timed(process.execPath, ver.args), 'registry verify');
      }
      const r = { cold: tCold.seconds, skopeo: tSkopeo, warm: tWarm.seconds, coldWork: work(tCold), warmWork: work(tWarm), rss: tCold.maxRss ?? 0 };
      rounds.push(r);
      process.stderr.write(`round ${round + 1}: palisade cold ${fmt(r.cold)} s (peak RSS ${fmt(r.rss / MiB, 0)} MiB), skopeo ${fmt(r.skopeo)} s, palisade warm ${fmt(r.warm)} s\n`);
    } finally {
      await regA.stop();
      await regB.stop();
      await rm(join(workDir, `reg-a-${round}`), { recursive: true, force: true });
      await rm(join(workDir, `reg-b-${round}`), { recursive: true, force: true });
    }
  }

  // process start-up alone (Node, tsx, module loading), to tell it apart from the seeding work
  const startups: number[] = [];
  for (let i = 0; i < 3; i++) startups.push(must(await timed(process.execPath, [PALISADE, '--version']), 'palisade --version').seconds);
  const startup = median(startups);
  const med = (k: keyof (typeof rounds)[number]): number => median(rounds.map((r) => r[k]));
  const tCold = med('cold');
  const tSkopeo = med('skopeo');
  const tWarm = med('warm');

  const result = {
    bundleImageMiB: Math.round(blobBytes / MiB),
    images: imageBytes,
    layersPerImage: layers,
    concurrency: Number(values.concurrency),
    rounds: rounds.length,
    palisadeColdSeconds: Number(fmt(tCold)),
    skopeoSeconds: Number(fmt(tSkopeo)),
    coldVsSkopeo: Number(fmt(tCold / tSkopeo)),
    coldVsSkopeoPerRound: rounds.map((r) => Number(fmt(r.cold / r.skopeo))),
    palisadeWarmSeconds: Number(fmt(tWarm)),
    warmVsCold: Number(fmt(tWarm / tCold, 3)),
    peakRssMiB: Math.round(Math.max(...rounds.map((r) => r.rss)) / MiB),
    startupSeconds: Number(fmt(startup)),
    coldWorkSeconds: Number(fmt(med('coldWork'))),
    warmWorkSeconds: Number(fmt(med('warmWork'), 3)),
    warmVsColdWork: Number(fmt(med('warmWork') / med('coldWork'), 3)),
  };
  process.stdout.write(`
seed benchmark: median of ${result.rounds} rounds, ${result.bundleImageMiB} MiB of image blobs, ${result.images} images, ${result.layersPerImage} layers each, registry = docker-registry 2.8 on 127.0.0.1 (TLS + htpasswd, bcrypt cost ${values['bcrypt-cost']})
  palisade registry seed (cold)   ${fmt(tCold)} s
  skopeo copy (same images)       ${fmt(tSkopeo)} s
  ratio cold / skopeo             ${result.coldVsSkopeo}   (aim <= 0.7; per round ${result.coldVsSkopeoPerRound.join(', ')})
  palisade re-seed (warm)         ${fmt(tWarm)} s
  ratio warm / cold               ${result.warmVsCold}   (aim <= 0.05; whole commands)
    of which process start-up     ${result.startupSeconds} s per command (palisade --version)
    seeding work, warm / cold     ${result.warmWorkSeconds} s / ${result.coldWorkSeconds} s = ${result.warmVsColdWork}
  peak RSS of palisade (cold)     ${result.peakRssMiB} MiB   (aim < 250; highest of the rounds)
`);
  if (values.json) await writeFile(values.json, JSON.stringify(result, null, 2) + '\n');
} finally {
  if (!values.keep) await rm(workDir, { recursive: true, force: true });
  else process.stderr.write(`kept ${workDir}\n`);
}
