/**
 * SSH upload benchmark: palisade's upload (SFTP to a temp name, SHA-256 verified on the
 * host, renamed into place) vs OpenSSH `scp`, same file, same loopback sshd, same run.
 *
 *   node --import tsx scripts/bench/upload.ts [--mib 256] [--rounds 3]
 *
 * Both sides are whole processes timed end to end (start, connect, authenticate, transfer,
 * close); palisade's figure also includes the SHA-256 check on the host, which scp does not do.
 */
import { createWriteStream, mkdirSync, rmSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { startSshd } from '../../test/fixtures/sshd.ts';
import { benchArgs, compare, MiB, report, runCommand, type RunResult, type Sample } from './harness.ts';

const values = benchArgs(
  `usage: node --import tsx scripts/bench/upload.ts [--mib 256] [--rounds 3]

One upload of a --mib random file to a loopback OpenSSH sshd: palisade's upload as its own
compiled process against the OpenSSH scp process. Whole command vs whole command.`,
  { mib: { type: 'string', default: '256' } },
);
const size = Number(values.mib) * MiB;

async function writeRandom(path: string, bytes: number): Promise<void> {
  const out = createWriteStream(path);
  for (let left = bytes; left > 0; left -= 4 * MiB) {
    if (!out.write(randomBytes(Math.min(4 * MiB, left)))) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
}

const work = join(tmpdir(), `palisade-bench-upload-${process.pid}`);
mkdirSync(join(work, 'dst'), { recursive: true });
const sshd = await startSshd();
try {
  const src = join(work, 'payload.bin');
  await writeRandom(src, size);
  // palisade's side is compiled like the program (one CommonJS file, no tsx at run time)
  const one = join(work, 'upload-one.cjs');
  await build({
    entryPoints: [join(import.meta.dirname, 'upload-one.ts')],
    outfile: one,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    logLevel: 'error',
    external: ['cpu-features', '*.node'],
  });
  const target = { name: 'bench', address: '127.0.0.1', port: sshd.port, user: 'root', privateKey: sshd.keys.ed25519.path, hostKey: sshd.hostKeyFingerprint };
  const scpArgs = [
    '-q',
    '-P',
    String(sshd.port),
    '-i',
    sshd.keys.ed25519.path,
    '-o',
    'BatchMode=yes',
    '-o',
    `UserKnownHostsFile=${join(work, 'known_hosts')}`,
    '-o',
    'StrictHostKeyChecking=accept-new',
  ];
  // scp learns the host key once, outside the timings
  await runCommand(['scp', ...scpArgs, src, `root@127.0.0.1:${join(work, 'dst', 'warm.bin')}`]);
  const checked = (dst: string, r: RunResult): Sample => {
    if (statSync(dst).size !== size) throw new Error(`wrong size at ${dst}`);
    rmSync(dst, { force: true });
    return { seconds: r.seconds, extra: { mibPerSecond: size / MiB / r.seconds, peakRssMiB: r.maxRss / MiB } };
  };
  const dst = (who: string): string => join(work, 'dst', `${who}.bin`);
  const result = await compare(
    {
      title: `upload of ${size / MiB} MiB to a loopback sshd`,
      kind: 'whole command vs whole command',
      palisade: {
        label: 'node upload-one.cjs (connect, SFTP upload, SHA-256 on the host, rename, close)',
        run: async () => checked(dst('palisade'), await runCommand([process.execPath, one, JSON.stringify({ target, src, dst: dst('palisade') })])),
      },
      peer: {
        label: 'scp -q FILE root@127.0.0.1:DST',
        run: async () => checked(dst('scp'), await runCommand(['scp', ...scpArgs, src, `root@127.0.0.1:${dst('scp')}`])),
      },
    },
    Number(values.rounds),
  );
  await report(
    'SSH upload',
    [result],
    { note: 'palisade does more than scp: a temporary name, the SHA-256 computed on the host and compared, then the rename with its mode' },
    values.json,
  );
} finally {
  await sshd.stop();
  rmSync(work, { recursive: true, force: true });
}
