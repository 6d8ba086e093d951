/**
 * Lab bring-up with a warm image cache, whole command against whole command: `scripts/lab up N`
 * (until every host answers SSH as root with its pinned key, the services namespace with Tang
 * and NTP included) against what a copy-based lab pays before it boots anything: `cp -a` of the
 * cached base image once per host. `scripts/lab down` is timed too, outside the ratio.
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { $ } from 'zx';
import { benchArgs, compare, report, runCommand, type Sample } from './harness.ts';
import { LAB } from './lab-env.ts';

const values = benchArgs(
  `usage: node --import tsx scripts/bench/lab.ts [--hosts 3] [--rounds 3]

Warms the image cache (scripts/lab up 1, down), then per round: scripts/lab up N + down in a
fresh directory against cp -a of the cached base image N times.`,
  { hosts: { type: 'string', default: '3' } },
);
const hosts = Number(values.hosts);
// where scripts/lab keeps its host images (its PALISADE_LAB_CACHE, else the default)
const CACHE = process.env.PALISADE_LAB_CACHE ?? '/var/cache/palisade-lab';

const dir = await mkdtemp(join(tmpdir(), 'palisade-bench-lab-'));
try {
  // warm the image cache (builds it once when the recipe changed)
  await $({ quiet: true })`${LAB} up 1 --dir ${join(dir, 'lab')}`;
  await $({ quiet: true })`${LAB} down --dir ${join(dir, 'lab')}`;
  // the newest complete image is the one the lab just used
  const images = [];
  for (const d of (await readdir(CACHE)).filter((x) => x.startsWith('host-os-'))) {
    const s = await stat(join(CACHE, d, 'complete')).catch(() => undefined);
    if (s) images.push({ rootfs: join(CACHE, d, 'rootfs'), t: s.mtimeMs });
  }
  const base = images.sort((a, b) => b.t - a.t)[0]?.rootfs;
  if (!base) throw new Error(`no complete host image in ${CACHE}`);
  const labDir = join(dir, 'lab');
  const result = await compare(
    {
      title: `lab up ${hosts}, warm image cache`,
      kind: 'whole command vs whole command',
      palisade: {
        label: `scripts/lab up ${hosts} --dir DIR`,
        run: async (): Promise<Sample> => {
          const up = await runCommand([LAB, 'up', String(hosts), '--dir', labDir]);
          const down = await runCommand([LAB, 'down', '--dir', labDir]);
          return { seconds: up.seconds, extra: { downSeconds: down.seconds } };
        },
      },
      peer: {
        label: `cp -a --reflink=auto ROOTFS x ${hosts}`,
        run: async (): Promise<Sample> => {
          const copies = Array.from({ length: hosts }, (_, i) => join(dir, `copy-${i}`));
          const r = await runCommand(copies.map((c) => `cp -a --reflink=auto ${base} ${c}`).join(' && '));
          await $({ quiet: true })`rm -rf ${copies}`;
          return { seconds: r.seconds };
        },
      },
    },
    Number(values.rounds),
  );
  const size = (await $({ quiet: true })`du -sm ${base}`).stdout.split(/\s/)[0];
  const fs = (await $({ quiet: true })`stat -f -c %T ${dir}`).stdout.trim();
  await report('Lab', [result], { 'base image': `${size} MiB (${base.split('/').at(-2)}); the copies on ${fs}` }, values.json);
} finally {
  await $({ quiet: true, nothrow: true })`${LAB} down --dir ${join(dir, 'lab')}`;
  await rm(dir, { recursive: true, force: true });
}
