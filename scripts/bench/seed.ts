/**
 * Seeding near the registry's own limit. A bundle of about --size-mib of random image
 * content; each round starts empty CNCF registries (TLS + htpasswd) on 127.0.0.1, one per
 * side. Whole commands: `palisade registry seed` (cold) against
 *   - the registry's ingest ceiling: the same blobs pushed by curl, monolithic PUTs, as many
 *     at once as palisade's --concurrency (seed as a fraction of it: aim ≥ 0.8, ratio ≤ 1.25);
 *   - skopeo at the same concurrency (one `skopeo copy` per image, --concurrency at once);
 *   - skopeo one image after another (what a script would do).
 * After each cold seed, the warm re-seed (nothing to do) as a fraction of the cold seed.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTestBundle } from '../bundle/build-test-bundle.ts';
import { DEFAULT_BCRYPT_COST } from '../../installer/pki/htpasswd.ts';
import { makeTestPki, startRegistry, type RunningRegistry } from '../../test/fixtures/bundle/harness.ts';
import { benchArgs, compare, median, MiB, PALISADE, report, runCommand, type Sample } from './harness.ts';

const values = benchArgs(
  `usage: node --import tsx scripts/bench/seed.ts [--size-mib 1024] [--images 8] [--layers 4] [--concurrency 4] [--bcrypt-cost 5] [--rounds 3]

Cold seed against curl's parallel monolithic PUTs (the registry's ingest ceiling), skopeo at
the same concurrency and skopeo one image after another; warm re-seed / cold seed.`,
  {
    'size-mib': { type: 'string', default: '1024' },
    images: { type: 'string', default: '8' },
    layers: { type: 'string', default: '4' },
    concurrency: { type: 'string', default: '4' },
    'bcrypt-cost': { type: 'string', default: String(DEFAULT_BCRYPT_COST) },
  },
);
const rounds = Number(values.rounds);
const images = Number(values.images);
const layers = Number(values.layers);
const concurrency = Number(values.concurrency);
const layerSize = Math.ceil((Number(values['size-mib']) * MiB) / (images * (layers - 1) + 2));

const workDir = await mkdtemp(join(tmpdir(), 'palisade-bench-seed-'));
try {
  process.stderr.write(`building the bench bundle: ${images} images x ${layers} layers of ${(layerSize / MiB).toFixed(1)} MiB...\n`);
  const tb = await buildTestBundle({ workDir: join(workDir, 'bundle'), images, layers, layerSize });
  const pki = await makeTestPki(join(workDir, 'pki'));
  const users = { bench: 'bench-password-123' };
  const pw = join(workDir, 'pw');
  await writeFile(pw, users.bench, { mode: 0o600 });
  const certDir = join(workDir, 'certs');
  await mkdir(certDir);
  await writeFile(join(certDir, 'ca.crt'), pki.caPem);
  const cost = Number(values['bcrypt-cost']);

  // every blob of the bundle's two layouts, each once: what the registry has to ingest
  const blobs: string[] = [];
  for (const layout of ['images', 'packs']) {
    const d = join(tb.path, layout, 'blobs', 'sha256');
    for (const f of await readdir(d)) blobs.push(`${f} ${join(d, f)}`);
  }
  await writeFile(join(workDir, 'blobs.txt'), blobs.join('\n') + '\n');
  // the ceiling: an upload session per blob (the POSTs in one curl over one kept-alive
  // connection), then every blob in one monolithic PUT, --concurrency at once, in one curl
  // process: no per-blob process or TLS handshake, nothing but the registry's own ingest
  await writeFile(join(workDir, 'curl.conf'), `cacert = "${pki.caFile}"\nuser = "bench:${users.bench}"\nsilent\nshow-error\nfail\n`, { mode: 0o600 });
  await writeFile(
    join(workDir, 'push-all.sh'),
    `#!/bin/sh
# push-all.sh PORT: POST an upload session per blob, then PUT every blob whole, ${concurrency} at once
set -eu
cd ${workDir}
base="https://127.0.0.1:$1"
{ cat curl.conf; echo 'request = "POST"'; while read -r hex file; do echo "url = \\"$base/v2/ceiling/blobs/uploads/\\""; echo 'output = "/dev/null"'; done < blobs.txt; } > post.conf
curl -K post.conf -w '%header{location}\\n' > locations.txt
paste -d' ' locations.txt blobs.txt | awk -v base="$base" '{ loc = $1; if (loc !~ /^http/) loc = base loc; sep = index(loc, "?") ? "\\&" : "?"; printf "url = \\"%s%sdigest=sha256:%s\\"\\nupload-file = \\"%s\\"\\noutput = \\"/dev/null\\"\\n", loc, sep, $2, $3 }' > put.conf
curl -K curl.conf -Z --parallel-max ${concurrency} -H 'Content-Type: application/octet-stream' -K put.conf
`,
  );
  const refs = tb.build.manifest.components.images.map((i) => `${i.repository}:${i.tag}`);
  await writeFile(join(workDir, 'images.txt'), refs.join('\n') + '\n');
  const skopeo = (port: number, ref: string): string =>
    `skopeo copy --all --quiet --dest-cert-dir ${certDir} --dest-creds bench:${users.bench} oci:${join(tb.path, 'images')}:${ref} docker://127.0.0.1:${port}/${ref}`;

  let regA: RunningRegistry | undefined;
  let regB: RunningRegistry | undefined;
  let n = 0;
  const fresh = async (): Promise<void> => {
    n++;
    regA = await startRegistry({ dir: join(workDir, `reg-a-${n}`), pki, users, bcryptCost: cost });
    regB = await startRegistry({ dir: join(workDir, `reg-b-${n}`), pki, users, bcryptCost: cost });
    // a cold seed never follows the bundle build or a previous round's writes unsynced
    await runCommand(['sync']);
  };
  const stop = async (): Promise<void> => {
    await regA?.stop();
    await regB?.stop();
    await rm(join(workDir, `reg-a-${n}`), { recursive: true, force: true });
    await rm(join(workDir, `reg-b-${n}`), { recursive: true, force: true });
  };
  const seedArgs = (url: string): string[] => [
    process.execPath,
    PALISADE,
    'registry',
    'seed',
    '--output',
    'json',
    '--bundle',
    tb.path,
    '--trusted-key',
    tb.publicKeyPath,
    '--registry',
    url,
    '--ca',
    pki.caFile,
    '--username',
    'bench',
    '--password-file',
    pw,
    '--concurrency',
    String(concurrency),
  ];
  const workOf = (stdout: string): number => (JSON.parse(stdout) as { durationMs: number }).durationMs / 1000;
  const warmFractions: number[] = [];
  const warmWorkFractions: number[] = [];
  const palisade = {
    label: `palisade registry seed --concurrency ${concurrency}`,
    run: async (): Promise<Sample> => {
      const cold = await runCommand(seedArgs((regA as RunningRegistry).url));
      const warm = await runCommand(seedArgs((regA as RunningRegistry).url));
      warmFractions.push(warm.seconds / cold.seconds);
      warmWorkFractions.push(workOf(warm.stdout) / workOf(cold.stdout));
      return {
        seconds: cold.seconds,
        extra: { workSeconds: workOf(cold.stdout), peakRssMiB: cold.maxRss / MiB, warmSeconds: warm.seconds, warmWorkSeconds: workOf(warm.stdout) },
      };
    },
  };
  const results = [];
  results.push(
    await compare(
      {
        title: 'cold seed vs the registry ingest ceiling (aim: seed ≥ 0.8 of the ceiling = ratio ≤ 1.25)',
        kind: 'whole command vs whole command',
        before: fresh,
        after: stop,
        palisade,
        peer: {
          label: `curl -K post.conf (a POST per blob, one connection), then curl -Z --parallel-max ${concurrency} -K put.conf (every blob in one monolithic PUT)`,
          run: async () => runCommand(['sh', join(workDir, 'push-all.sh'), String((regB as RunningRegistry).port)]),
        },
        aim: { max: 1.25 },
      },
      rounds,
    ),
  );
  results.push(
    await compare(
      {
        title: `cold seed vs skopeo, ${concurrency} at once`,
        kind: 'whole command vs whole command',
        before: fresh,
        after: stop,
        palisade,
        peer: {
          label: `xargs -P${concurrency} skopeo copy --all (one per image)`,
          run: async () => runCommand(`xargs -P${concurrency} -I{} ${skopeo((regB as RunningRegistry).port, '{}')} < ${join(workDir, 'images.txt')}`),
        },
        aim: { max: 1 },
      },
      rounds,
    ),
  );
  results.push(
    await compare(
      {
        title: 'cold seed vs skopeo, one image after another',
        kind: 'whole command vs whole command',
        before: fresh,
        after: stop,
        palisade,
        peer: {
          label: 'skopeo copy --all, image after image',
          run: async () => runCommand(refs.map((r) => skopeo((regB as RunningRegistry).port, r)).join(' && ')),
        },
      },
      rounds,
    ),
  );
  await report(
    'Registry seed',
    results,
    {
      bundle: `${tb.build.manifest.components.images.length} images (${layers} layers of ${(layerSize / MiB).toFixed(1)} MiB, the first shared) + ${tb.build.manifest.components.packs.length} packs, ${blobs.length} blobs; registry docker-registry on 127.0.0.1, TLS + htpasswd bcrypt cost ${cost}`,
      'cold seed as a fraction of the ingest ceiling (1 / ratio; aim ≥ 0.8)': 1 / (results[0]?.ratio ?? Number.NaN),
      'warm re-seed / cold seed, whole commands (aim ≤ 0.05), median of every cold seed': median(warmFractions),
      'warm re-seed / cold seed, seeding work only (durationMs)': median(warmWorkFractions),
    },
    values.json,
  );
} finally {
  await rm(workDir, { recursive: true, force: true });
}
