/**
 * SSH upload benchmark: palisade's upload (SFTP to a temp name, SHA-256 verified on the
 * host, renamed into place) vs OpenSSH `scp`, same file, same loopback sshd, same run.
 *
 *   npx tsx scripts/bench/upload.ts [--mib 256] [--rounds 3]
 *
 * Both sides are timed end to end (connect, authenticate, transfer, close); palisade's
 * figure also includes the SHA-256 check on the host, which scp does not do. Rounds
 * alternate the order; medians are reported.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, rmSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connectHost } from '../../installer/hosts/index.ts';
import { startSshd } from '../../test/fixtures/sshd.ts';

const { values } = parseArgs({ options: { mib: { type: 'string', default: '256' }, rounds: { type: 'string', default: '3' } } });
const MiB = 1 << 20;
const size = Number(values.mib) * MiB;
const rounds = Number(values.rounds);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function writeRandom(path: string, bytes: number): Promise<void> {
  const out = createWriteStream(path);
  for (let left = bytes; left > 0; left -= 4 * MiB) {
    if (!out.write(randomBytes(Math.min(4 * MiB, left)))) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exit ${code}: ${err}`))));
  });
}

const work = join(tmpdir(), `palisade-bench-upload-${process.pid}`);
mkdirSync(join(work, 'dst'), { recursive: true });
const sshd = await startSshd();
try {
  const src = join(work, 'payload.bin');
  await writeRandom(src, size);
  const target = { name: 'bench', address: '127.0.0.1', port: sshd.port, user: 'root', privateKey: sshd.keys.ed25519.path, hostKey: sshd.hostKeyFingerprint };
  const scpArgs = ['-q', '-P', String(sshd.port), '-i', sshd.keys.ed25519.path, '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${join(work, 'known_hosts')}`, '-o', 'StrictHostKeyChecking=accept-new'];
  // scp learns the host key once, outside the timings
  await run('scp', [...scpArgs, src, `root@127.0.0.1:${join(work, 'dst', 'warm.bin')}`]);

  const times = { palisade: [] as number[], scp: [] as number[] };
  let peakRss = 0;
  const baseRss = process.memoryUsage().rss;
  for (let r = 0; r < rounds; r++) {
    const order: Array<'palisade' | 'scp'> = r % 2 === 0 ? ['palisade', 'scp'] : ['scp', 'palisade'];
    for (const who of order) {
      const dst = join(work, 'dst', `${who}.bin`);
      rmSync(dst, { force: true });
      const t0 = performance.now();
      if (who === 'palisade') {
        const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
        const h = await connectHost(target);
        await h.upload(src, dst, { mode: 0o644 });
        await h.close();
        clearInterval(sampler);
      } else {
        await run('scp', [...scpArgs, src, `root@127.0.0.1:${dst}`]);
      }
      const s = (performance.now() - t0) / 1000;
      if (statSync(dst).size !== size) throw new Error(`${who}: wrong size at the destination`);
      times[who].push(s);
      process.stderr.write(`round ${r + 1}: ${who} ${s.toFixed(2)} s\n`);
    }
  }
  const p = median(times.palisade);
  const s = median(times.scp);
  const mbps = (t: number) => (size / MiB / t).toFixed(0);
  process.stdout.write(
    [
      `SSH upload of ${size / MiB} MiB to a loopback OpenSSH sshd, median of ${rounds}`,
      `  palisade upload (SFTP + SHA-256 verify on the host + rename): ${p.toFixed(2)} s (${mbps(p)} MiB/s)`,
      `  OpenSSH scp:                                                   ${s.toFixed(2)} s (${mbps(s)} MiB/s)`,
      `  ratio palisade/scp: ${(p / s).toFixed(2)} (below 1 = palisade faster)`,
      `  RSS of the palisade process: ${(baseRss / MiB).toFixed(0)} MiB before, ${(peakRss / MiB).toFixed(0)} MiB peak during uploads of the ${size / MiB} MiB file (streamed, not loaded)`,
      '',
    ].join('\n'),
  );
} finally {
  await sshd.stop();
  rmSync(work, { recursive: true, force: true });
}
