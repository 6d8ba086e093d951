/**
 * Lab bring-up with a warm image cache: `scripts/lab up 3` and `scripts/lab down`, whole commands,
 * against the peer a copy-based lab would pay before booting anything: `cp -a` of the base image
 * once per host (3 copies). Median of --rounds (default 3).
 *
 *   node --import tsx scripts/bench/lab.ts [--rounds 3] [--hosts 3]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '../..');
const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const rounds = opt('rounds', 3);
const hosts = opt('hosts', 3);

function timed(cmd: string, argv: string[]): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')}: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t) / 1e9;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const dir = mkdtempSync(join(tmpdir(), 'lab-bench-'));
const lab = join(repo, 'scripts/lab');
// warm the image cache (builds it once if the recipe changed)
timed(lab, ['up', '1', '--dir', dir]);
timed(lab, ['down', '--dir', dir]);
const cache = '/var/cache/palisade-lab';
// the newest complete image is the one the lab just used
const base = readdirSync(cache)
  .filter((d) => d.startsWith('host-os-') && existsSync(join(cache, d, 'complete')))
  .map((d) => ({ d, t: statSync(join(cache, d, 'complete')).mtimeMs }))
  .sort((a, b) => b.t - a.t)
  .map((x) => join(cache, x.d, 'rootfs'))[0]!;
const ups: number[] = [];
const downs: number[] = [];
const copies: number[] = [];
try {
  for (let r = 0; r < rounds; r++) {
    ups.push(timed(lab, ['up', String(hosts), '--dir', dir]));
    downs.push(timed(lab, ['down', '--dir', dir]));
    // the peer: one full copy of the base image per host
    let total = 0;
    for (let h = 0; h < hosts; h++) {
      const dst = join(dir, `copy-${h}`);
      total += timed('cp', ['-a', '--reflink=auto', base, dst]);
      rmSync(dst, { recursive: true, force: true });
    }
    copies.push(total);
  }
} finally {
  spawnSync(lab, ['down', '--dir', dir]);
  rmSync(dir, { recursive: true, force: true });
}
const up = median(ups);
const peer = median(copies);
console.log(`lab up ${hosts} (warm image, until every host answers SSH): median ${up.toFixed(2)} s  [${ups.map((x) => x.toFixed(2)).join(', ')}]`);
console.log(`lab down: median ${median(downs).toFixed(2)} s  [${downs.map((x) => x.toFixed(2)).join(', ')}]`);
console.log(`peer: cp -a of the base image x ${hosts}: median ${peer.toFixed(2)} s  [${copies.map((x) => x.toFixed(2)).join(', ')}]`);
console.log(`ratio lab up / copies alone: ${(up / peer).toFixed(2)}`);
