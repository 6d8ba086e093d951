/**
 * Bundle verify at the machine's hashing limit. The same ~1 GiB bundle as a directory and as
 * a tar, warm page cache. Whole commands: `palisade bundle verify` against the like-for-like
 * peer `xargs -P2 openssl dgst -sha256` over the same files (OpenSSL with the CPU's SHA
 * extensions, two processes), and against `sha256sum -c` (what an operator would type).
 * The verify work itself (`durationMs` of `--output json`) against the time the two-core
 * `openssl speed -evp sha256` figure, measured in the same round, needs for the same bytes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildTestBundle } from '../bundle/build-test-bundle.ts';
import { benchArgs, compare, MiB, PALISADE, report, runCommand, type Sample } from './harness.ts';

const values = benchArgs(
  `usage: node --import tsx scripts/bench/verify.ts [--size-mib 1024] [--images 8] [--layers 4] [--rounds 3]

Builds a bundle of about --size-mib of random image layers (directory and tar), then per
round: palisade bundle verify (dir, tar) against xargs -P2 openssl dgst -sha256 and
sha256sum -c on the same files, Node's own floor (scripts/bench/hash-floor.cjs: Node, its
worker threads and the same hashing, no palisade) against both, and the verify work
against openssl speed -evp sha256 -multi 2.`,
  { 'size-mib': { type: 'string', default: '1024' }, images: { type: 'string', default: '8' }, layers: { type: 'string', default: '4' } },
);
const rounds = Number(values.rounds);
const images = Number(values.images);
const layers = Number(values.layers);
const layerSize = Math.ceil((Number(values['size-mib']) * MiB) / (images * (layers - 1) + 2));

/** two-core OpenSSL SHA-256 throughput (MiB/s), 1 MiB blocks */
async function opensslSpeed(): Promise<number> {
  const r = await runCommand(['openssl', 'speed', '-evp', 'sha256', '-seconds', '2', '-bytes', String(MiB), '-multi', '2']);
  const m = /^sha256\s+([\d.]+)k\s*$/m.exec(r.stdout);
  if (!m) throw new Error(`cannot read openssl speed output:\n${r.stdout.slice(-500)}`);
  return (Number(m[1]) * 1000) / MiB;
}

const HASH_FLOOR = join(dirname(fileURLToPath(import.meta.url)), 'hash-floor.cjs');

const work = await mkdtemp(join(tmpdir(), 'palisade-bench-verify-'));
try {
  process.stderr.write(`building the bench bundles (${values['size-mib']} MiB of images, directory and tar)...\n`);
  const dir = await buildTestBundle({ workDir: join(work, 'b'), images, layers, layerSize });
  const tar = await buildTestBundle({ workDir: join(work, 't'), images, layers, layerSize, tar: true });
  const bytes = dir.build.bytes;
  const warm = async (): Promise<void> => {
    await runCommand(`cat ${tar.path} > /dev/null && find ${dir.path} -type f -exec cat {} + > /dev/null`);
  };
  const verify = (path: string, key: string) => async (): Promise<Sample> => {
    const r = await runCommand([process.execPath, PALISADE, 'bundle', 'verify', path, '--trusted-key', key, '--output', 'json']);
    const report = JSON.parse(r.stdout) as { ok: boolean; durationMs: number };
    if (!report.ok) throw new Error('the bench bundle did not verify');
    return { seconds: r.seconds, extra: { workSeconds: report.durationMs / 1000, peakRssMiB: r.maxRss / MiB, cpuSeconds: r.cpuSeconds } };
  };
  const opensslDgst = async (): Promise<Sample> => {
    const r = await runCommand(`cut -c67- checksums.txt | xargs -P2 -n 8 openssl dgst -sha256 > /dev/null`, { env: {}, cwd: dir.path });
    return { seconds: r.seconds, extra: { cpuSeconds: r.cpuSeconds } };
  };
  const peerLabel = 'cut -c67- checksums.txt | xargs -P2 -n 8 openssl dgst -sha256';
  const results = [];
  results.push(
    await compare(
      {
        title: 'verify, directory',
        kind: 'whole command vs whole command',
        before: warm,
        palisade: { label: 'palisade bundle verify DIR', run: verify(dir.path, dir.publicKeyPath) },
        peer: { label: peerLabel, run: opensslDgst },
        aim: { max: 1 },
      },
      rounds,
    ),
  );
  results.push(
    await compare(
      {
        title: 'verify, tar',
        kind: 'whole command vs whole command',
        before: warm,
        palisade: { label: 'palisade bundle verify BUNDLE.tar', run: verify(tar.path, tar.publicKeyPath) },
        peer: { label: peerLabel, run: opensslDgst },
        aim: { max: 1 },
      },
      rounds,
    ),
  );
  // Node's own floor: nothing but Node starting, its worker threads and the same hashing
  const floor = async (): Promise<Sample> => {
    const r = await runCommand([process.execPath, HASH_FLOOR, dir.path]);
    return { seconds: r.seconds, extra: { cpuSeconds: r.cpuSeconds } };
  };
  const floorLabel = 'node scripts/bench/hash-floor.cjs DIR';
  results.push(
    await compare(
      {
        title: "Node's own floor (start, a worker per core, the same hashing, no palisade) vs the openssl peer",
        kind: 'whole command vs whole command',
        before: warm,
        palisade: { label: floorLabel, run: floor },
        peer: { label: peerLabel, run: opensslDgst },
      },
      rounds,
    ),
  );
  results.push(
    await compare(
      {
        title: "verify, directory, vs Node's own floor (palisade's start-up and checks)",
        kind: 'whole command vs whole command',
        before: warm,
        palisade: { label: 'palisade bundle verify DIR', run: verify(dir.path, dir.publicKeyPath) },
        peer: { label: floorLabel, run: floor },
      },
      rounds,
    ),
  );
  results.push(
    await compare(
      {
        title: 'verify, directory, vs sha256sum',
        kind: 'whole command vs whole command',
        before: warm,
        palisade: { label: 'palisade bundle verify DIR', run: verify(dir.path, dir.publicKeyPath) },
        peer: { label: 'sha256sum -c --quiet checksums.txt', run: async () => runCommand(['sha256sum', '-c', '--quiet', 'checksums.txt'], { cwd: dir.path }) },
      },
      rounds,
    ),
  );
  // the verify work against the hashing limit: the peer "time" is the bytes at openssl speed's two-core rate
  let limit = 0;
  const workVsLimit = (path: string, key: string) => ({
    palisade: {
      label: `durationMs of palisade bundle verify ${path === tar.path ? 'BUNDLE.tar' : 'DIR'} -o json`,
      run: async (): Promise<Sample> => ({ seconds: (await verify(path, key)()).extra?.workSeconds ?? Number.NaN }),
    },
    peer: {
      label: 'the same bytes at openssl speed -evp sha256 -multi 2',
      run: async (): Promise<Sample> => {
        limit = await opensslSpeed();
        return { seconds: bytes / MiB / limit, extra: { mibPerSecond: limit } };
      },
    },
  });
  results.push(
    await compare(
      {
        title: 'verify work vs two-core hash limit, directory (aim: ≥ 60% of the limit = ratio ≤ 1.67)',
        kind: 'in-process vs in-process',
        before: warm,
        ...workVsLimit(dir.path, dir.publicKeyPath),
        aim: { max: 1.67 },
      },
      rounds,
    ),
  );
  results.push(
    await compare(
      {
        title: 'verify work vs two-core hash limit, tar (aim: ≥ 60% of the limit = ratio ≤ 1.67)',
        kind: 'in-process vs in-process',
        before: warm,
        ...workVsLimit(tar.path, tar.publicKeyPath),
        aim: { max: 1.67 },
      },
      rounds,
    ),
  );
  await report(
    'Bundle verify',
    results,
    {
      bundle: `${(bytes / MiB).toFixed(0)} MiB in ${dir.build.files} files (${images} images x ${layers} layers of ${(layerSize / MiB).toFixed(1)} MiB, the first layer shared), warm page cache`,
      'openssl speed -evp sha256 -multi 2, last round': `${limit.toFixed(0)} MiB/s`,
    },
    values.json,
  );
} finally {
  await rm(work, { recursive: true, force: true });
}
