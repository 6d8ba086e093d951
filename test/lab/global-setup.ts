/**
 * One shared lab per vitest run (project `lab`): 4 hosts (host1..host3 controllers, host4
 * worker, a TPM each) + host5 behind host1. Test workers find it through env
 * PALISADE_LAB_DIR and `inject('labDir')`. With PALISADE_LAB_DIR already set to a lab that is up,
 * that lab is used and left up (fast dev loop: `scripts/lab up 4 --tpm --jump --dir /tmp/l`,
 * then `PALISADE_LAB_DIR=/tmp/l npx vitest run --project lab`). PALISADE_LAB_KEEP=1 leaves the
 * run's own lab up at the end.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { LABS_ROOT } from './lab.ts';

const repo = resolve(import.meta.dirname, '../..');
const labScript = join(repo, 'scripts/lab');
const labsRoot = LABS_ROOT;

function lab(args: string[], timeoutMs = 15 * 60_000): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(labScript, args, { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

function isUp(dir: string): boolean {
  const r = lab(['status', '--dir', dir, '--json'], 60_000);
  try {
    return r.code === 0 && (JSON.parse(r.stdout) as { up?: boolean }).up === true;
  } catch {
    return false;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Labs of earlier runs that were killed before their teardown: take them down by their own records. */
function clearStaleLabs(): void {
  if (!existsSync(labsRoot)) return;
  for (const name of readdirSync(labsRoot)) {
    const dir = join(labsRoot, name);
    let owner = 0;
    try {
      owner = Number(readFileSync(join(dir, 'owner.pid'), 'utf8').trim());
    } catch {
      // no owner.pid: being made right now, or left by a run that never wrote one (old: take it down)
      try {
        if (Date.now() - statSync(dir).mtimeMs < 3_600_000) continue;
      } catch {
        continue;
      }
    }
    if (owner && pidAlive(owner)) continue;
    lab(['down', '--dir', dir], 120_000);
    rmSync(dir, { recursive: true, force: true });
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | void> {
  const given = process.env.PALISADE_LAB_DIR;
  if (given && isUp(given)) {
    project.provide('labDir', given);
    return;
  }
  clearStaleLabs();
  const dir = join(labsRoot, `run-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'owner.pid'), `${process.pid}\n`);
  const started = Date.now();
  const r = lab(['up', '4', '--tpm', '--jump', '--dir', dir]);
  if (r.code !== 0) {
    // the machines' consoles say why; keep their last lines before down removes them
    const consoles = ['host1', 'host2', 'host3', 'host4', 'host5']
      .map((h) => join(dir, 'hosts', h, 'console.log'))
      .filter((f) => existsSync(f))
      .map((f) => `--- ${f} (last lines)\n${readFileSync(f, 'utf8').split('\n').slice(-15).join('\n')}`)
      .join('\n');
    lab(['down', '--dir', dir], 120_000);
    throw new Error(`the lab did not come up (scripts/lab up 4 --tpm --jump --dir ${dir}):\n${r.stderr}\n${consoles}`);
  }
  process.stderr.write(`lab: up in ${((Date.now() - started) / 1000).toFixed(1)} s (${dir})\n`);
  process.env.PALISADE_LAB_DIR = dir;
  project.provide('labDir', dir);
  return async () => {
    if (process.env.PALISADE_LAB_KEEP === '1') {
      process.stderr.write(`lab: left up (PALISADE_LAB_KEEP=1): ${dir}\n`);
      return;
    }
    const d = lab(['down', '--dir', dir], 120_000);
    if (d.code !== 0) process.stderr.write(`lab: down failed:\n${d.stderr}\n`);
    else rmSync(dir, { recursive: true, force: true });
  };
}
