/**
 * Backup of a registry, whole command against whole command: the backup's registry part (the
 * registry index, every manifest and blob read through the registry's API and streamed through
 * the writer `palisade backup --with-registry` uses: tar, age encryption, temp file, rename) as
 * its own compiled process, against what an operator with a shell on the registry host would
 * run: `tar` of the registry's storage directory piped into the `age` CLI, to the same
 * recipient. Peak RSS of both sides (GNU time). The registry is a real CNCF registry on
 * 127.0.0.1 (TLS + htpasswd), seeded once by `palisade registry seed` from a generated bundle.
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { $ } from 'zx';
import { makeTestPki, startRegistry } from '../../test/fixtures/bundle/harness.ts';
import { buildTestBundle } from '../bundle/build-test-bundle.ts';
import { benchArgs, compare, MiB, PALISADE, report, runCommand, type Sample } from './harness.ts';

const values = benchArgs(
  `usage: node --import tsx scripts/bench/backup.ts [--size-mib 1024] [--rounds 3]

Seeds a registry on 127.0.0.1 with about --size-mib of generated images, then per round: the
backup's registry part (compiled, its own process) against tar of the registry storage | age.`,
  { 'size-mib': { type: 'string', default: '1024' } },
);
const size = Number(values['size-mib']);

const workDir = await mkdtemp(join(tmpdir(), 'palisade-bench-backup-'));
try {
  const layerSize = Math.ceil((size * MiB) / (8 * 3 + 2));
  process.stderr.write(`building ${size} MiB of images...\n`);
  const tb = await buildTestBundle({ workDir: join(workDir, 'bundle'), images: 8, layers: 4, layerSize });
  const pki = await makeTestPki(join(workDir, 'pki'));
  const reg = await startRegistry({ dir: join(workDir, 'reg'), pki, users: { bench: 'bench-password-123' } });
  try {
    const pw = join(workDir, 'pw');
    await writeFile(pw, 'bench-password-123', { mode: 0o600 });
    await runCommand([
      process.execPath,
      PALISADE,
      'registry',
      'seed',
      '--bundle',
      tb.path,
      '--trusted-key',
      tb.publicKeyPath,
      '--registry',
      reg.url,
      '--ca',
      pki.caFile,
      '--username',
      'bench',
      '--password-file',
      pw,
    ]);
    const identity = join(workDir, 'identity.txt');
    await $({ quiet: true })`age-keygen -o ${identity}`;
    const recipient = (await $({ quiet: true })`age-keygen -y ${identity}`).stdout.trim();
    // palisade's side is compiled like the program (one CommonJS file, no tsx at run time)
    const one = join(workDir, 'backup-one.cjs');
    await build({
      entryPoints: [join(import.meta.dirname, 'backup-one.ts')],
      outfile: one,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      logLevel: 'error',
      external: ['cpu-features', '*.node'],
    });
    const out = (who: string): string => join(workDir, `${who}.backup.age`);
    const sized = async (file: string, seconds: number, rss: number): Promise<Sample> => {
      const bytes = (await stat(file)).size;
      await rm(file, { force: true });
      return { seconds, extra: { fileMiB: bytes / MiB, peakRssMiB: rss / MiB, mibPerSecond: bytes / MiB / seconds } };
    };
    const result = await compare(
      {
        title: `backup of a ${size} MiB registry, encrypted to an age recipient`,
        kind: 'whole command vs whole command',
        palisade: {
          label: 'node backup-one.cjs (index, manifests and blobs over the registry API -> tar -> age, temp file + rename)',
          run: async () => {
            const r = await runCommand([
              process.execPath,
              one,
              JSON.stringify({ url: reg.url, ca: pki.caFile, user: 'bench', passwordFile: pw, recipient, out: out('palisade') }),
            ]);
            return sized(out('palisade'), r.seconds, r.maxRss);
          },
        },
        peer: {
          label: 'tar -C STORAGE -cf - . | age -r RECIPIENT -o OUT',
          run: async () => {
            const r = await runCommand(`tar -C ${reg.storage} -cf - . | age -r ${recipient} -o ${out('peer')}`);
            return sized(out('peer'), r.seconds, r.maxRss);
          },
        },
      },
      Number(values.rounds),
    );
    await report(
      'Backup of a registry',
      [result],
      {
        registry: `${tb.build.manifest.components.images.length} images (4 layers of ${(layerSize / MiB).toFixed(1)} MiB, the first shared) in docker-registry on 127.0.0.1, TLS + htpasswd`,
        'peak RSS of the peer': 'of the sh running the pipeline and its largest child (GNU time reports the largest of the waited-for processes)',
      },
      values.json,
    );
  } finally {
    await reg.stop();
  }
} finally {
  await rm(workDir, { recursive: true, force: true });
}
