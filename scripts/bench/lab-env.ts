/**
 * A lab for the benches that need hosts, through the lab's public entry points only (the
 * `scripts/lab` command and the lab.json it writes). A lab already up in PALISADE_LAB_DIR (or
 * --dir) with enough hosts is used and left up; otherwise one is brought up and taken down
 * at the end (unless keep).
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { $ } from 'zx';
import type { LabInfo } from '../lab.d/types.ts';
import { REPO_ROOT } from '../bundle/build-test-bundle.ts';

export const LAB = join(REPO_ROOT, 'scripts/lab');

async function labInfo(dir: string): Promise<LabInfo | undefined> {
  const status = await $({ quiet: true, nothrow: true })`${LAB} status --dir ${dir} --json`;
  try {
    if ((JSON.parse(status.stdout) as { up?: boolean }).up !== true) return undefined;
    return JSON.parse(await readFile(join(dir, 'lab.json'), 'utf8')) as LabInfo;
  } catch {
    return undefined;
  }
}

export interface BenchLab {
  info: LabInfo;
  /** take it down when this bench brought it up (and was not asked to keep it) */
  release(): Promise<void>;
}

export async function benchLab(hosts: number, o: { dir: string; keep?: boolean; tpm?: boolean }): Promise<BenchLab> {
  const dir = process.env.PALISADE_LAB_DIR ?? o.dir;
  const existing = await labInfo(dir);
  if (existing && existing.hosts.length >= hosts) return { info: existing, release: async () => undefined };
  if (existing) throw new Error(`the lab in ${dir} has ${existing.hosts.length} hosts; this bench needs ${hosts} (take it down or give another --dir)`);
  // a concurrent lab test run takes down labs whose owner process is gone
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'owner.pid'), `${process.pid}\n`);
  process.stderr.write(`bringing up a ${hosts}-host lab in ${dir}...\n`);
  await $({ quiet: true })`${LAB} up ${hosts} ${o.tpm ? ['--tpm'] : []} --dir ${dir}`;
  const info = await labInfo(dir);
  if (!info) throw new Error(`scripts/lab up ${hosts} --dir ${dir} finished but the lab is not up`);
  return {
    info,
    release: async () => {
      if (o.keep) {
        process.stderr.write(`the lab stays up in ${dir} (scripts/lab down --dir ${dir})\n`);
        return;
      }
      await $({ quiet: true, nothrow: true })`${LAB} down --dir ${dir}`;
      await rm(join(dir, 'owner.pid'), { force: true });
    },
  };
}
