/**
 * The record of what a lab made (DIR/state.json), written as each resource is made, and the
 * teardown that removes exactly those resources, in reverse order, each step tolerant of a
 * resource that is already gone (so `down` is safe twice and clears a killed run's leftovers).
 */
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { LabState, Resource } from './types.ts';
import { probe, procAlive, readJson, sleep, writeAtomic } from './sys.ts';

export function statePath(dir: string): string {
  return join(dir, 'state.json');
}

export class StateRecorder {
  constructor(
    readonly dir: string,
    readonly state: LabState,
  ) {}

  static create(dir: string, slot: number): StateRecorder {
    const rec = new StateRecorder(dir, { version: 1, dir, slot, createdAt: new Date().toISOString(), bootId: bootId(), resources: [] });
    rec.save();
    return rec;
  }

  add(r: Resource): void {
    this.state.resources.push(r);
    this.save();
  }

  update(match: (r: Resource) => boolean, patch: Partial<Resource>): void {
    const r = this.state.resources.find(match);
    if (r) Object.assign(r, patch);
    this.save();
  }

  save(): void {
    writeAtomic(statePath(this.dir), `${JSON.stringify(this.state, null, 2)}\n`);
  }
}

export function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}

export function readState(dir: string): LabState | undefined {
  return readJson<LabState>(statePath(dir));
}

function netnsExists(name: string): boolean {
  return existsSync(`/run/netns/${name}`);
}

function linkExists(name: string): boolean {
  return existsSync(`/sys/class/net/${name}`);
}

/** PIDs of processes in a network namespace we made (they are ours: nothing else joins it). */
async function netnsPids(name: string): Promise<number[]> {
  if (!netnsExists(name)) return [];
  const r = await probe`ip netns pids ${name}`;
  return r.stdout.split(/\s+/).filter(Boolean).map(Number);
}

/** Loop devices whose backing file is exactly `file`. */
export async function loopsOf(file: string): Promise<string[]> {
  const r = await probe`losetup --noheadings --output NAME --associated ${file}`;
  return r.stdout
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** PIDs in a cgroup directory and all below it. */
function cgroupPids(path: string): number[] {
  if (!existsSync(path)) return [];
  const out: number[] = [];
  try {
    out.push(...readFileSync(join(path, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number));
  } catch {}
  for (const e of subdirs(path)) out.push(...cgroupPids(join(path, e)));
  return out;
}

function subdirs(path: string): string[] {
  try {
    return readdirSync(path).filter((e) => {
      try {
        return statSync(join(path, e)).isDirectory();
      } catch {
        return false;
      }
    });
  } catch {
    return [];
  }
}

/** rmdir a cgroup and its children, deepest first (a cgroup is removed with rmdir, never rm -r). */
async function rmdirTree(path: string): Promise<boolean> {
  for (const e of subdirs(path)) await rmdirTree(join(path, e));
  for (let i = 0; i < 20; i++) {
    try {
      rmdirSync(path);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return true;
      await sleep(50);
    }
  }
  return false;
}

async function waitGone(pids: { pid: number; start: string }[], ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    if (pids.every((p) => !procAlive(p.pid, p.start))) return true;
    if (Date.now() > until) return false;
    await sleep(50);
  }
}

/**
 * Removes every recorded resource (reverse order of creation). Returns the problems it could not fix.
 * `log` gets one line per action.
 */
export async function teardown(state: LabState, log: (s: string) => void = () => {}): Promise<string[]> {
  const problems: string[] = [];
  let rs = [...state.resources].reverse();
  if (state.bootId && state.bootId !== bootId()) {
    // Made before this machine last booted: its processes, namespaces, links and cgroups died with
    // that boot, and the same PIDs and names may now be another lab's. Only its files remain.
    log('made before the last reboot: removing its files only');
    rs = rs.filter((r) => r.kind === 'path' || r.kind === 'loop' || r.kind === 'slot');
  }

  // 1. processes: SIGTERM (nspawn powers its machine off cleanly), then SIGKILL.
  const procs = rs.filter((r): r is Extract<Resource, { kind: 'process' }> => r.kind === 'process').filter((p) => procAlive(p.pid, p.start));
  for (const p of procs) {
    try {
      process.kill(p.pid, 'SIGTERM');
    } catch {}
  }
  if (!(await waitGone(procs, 4000))) {
    for (const p of procs) {
      if (procAlive(p.pid, p.start)) {
        log(`kill -9 ${p.what} (pid ${p.pid})`);
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {}
      }
    }
    if (!(await waitGone(procs, 4000)))
      problems.push(
        `processes still running: ${procs
          .filter((p) => procAlive(p.pid, p.start))
          .map((p) => p.pid)
          .join(' ')}`,
      );
  }
  if (procs.length) log(`stopped ${procs.length} process(es)`);

  // 2. anything still inside our namespaces (a machine whose nspawn died first, a tangd connection).
  for (const r of rs) {
    if (r.kind !== 'netns') continue;
    const pids = await killUntilGone(() => netnsPids(r.name));
    if (pids.length) problems.push(`processes left in netns ${r.name}: ${pids.join(' ')}`);
  }

  // 2b. anything left in a machine's own cgroups (ours: only the lab puts processes there).
  for (const r of rs) {
    if (r.kind !== 'cgroup') continue;
    const pids = await killUntilGone(async () => cgroupPids(r.path));
    if (pids.length) problems.push(`processes left in cgroup ${r.path}: ${pids.join(' ')}`);
  }

  // 3. the rest, in reverse order.
  for (const r of rs) {
    switch (r.kind) {
      case 'process':
        break;
      case 'loop': {
        for (const dev of await loopsOf(r.file)) {
          let ok = false;
          for (let i = 0; i < 20 && !ok; i++) {
            ok = (await probe`losetup --detach ${dev}`).ok;
            if (!ok) await sleep(100);
          }
          if (ok) log(`detached ${dev}`);
          else problems.push(`cannot detach ${dev} (${r.file})`);
        }
        break;
      }
      case 'netns':
        if (netnsExists(r.name)) {
          if ((await probe`ip netns delete ${r.name}`).ok) log(`deleted netns ${r.name}`);
          else problems.push(`cannot delete netns ${r.name}`);
        }
        break;
      case 'veth':
      case 'bridge':
        if (linkExists(r.name)) {
          if ((await probe`ip link delete ${r.name}`).ok) log(`deleted ${r.kind} ${r.name}`);
          else problems.push(`cannot delete ${r.kind} ${r.name}`);
        }
        break;
      case 'path':
        rmSync(r.path, { recursive: true, force: true });
        break;
      case 'cgroup':
        if (existsSync(r.path) && !(await rmdirTree(r.path))) problems.push(`cannot remove cgroup ${r.path}`);
        else {
          try {
            rmdirSync(dirname(r.path)); // the shared parent, only when no other lab uses it
          } catch {}
        }
        break;
      case 'slot':
        try {
          if (existsSync(r.claim) && readFileSync(join(r.claim, 'owner'), 'utf8').trim() === state.dir) rmSync(r.claim, { recursive: true, force: true });
        } catch {
          rmSync(r.claim, { recursive: true, force: true });
        }
        break;
    }
  }
  return problems;
}

/** SIGKILL what `list` finds until it finds nothing (4 s at most); returns what is left. */
async function killUntilGone(list: () => Promise<number[]>): Promise<number[]> {
  let pids = await list();
  for (let i = 0; i < 40 && pids.length; i++) {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    await sleep(100);
    pids = await list();
  }
  return pids;
}
