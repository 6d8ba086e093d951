/**
 * systemd-nspawn machines, each started in cgroups of its own (recorded before they are made) and
 * recorded as a process the moment it runs, with its init once that exists.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { here } from './image.ts';
import type { StateRecorder } from './state.ts';
import { childrenOf, procStart, sleep, startDetached } from './sys.ts';

/**
 * A machine's own cgroup in each hierarchy nspawn uses: cgroup v2 alone (/sys/fs/cgroup), or the
 * hybrid layout (name=systemd at /sys/fs/cgroup/systemd, v2 at /sys/fs/cgroup/unified).
 */
function machineCgroups(machine: string): string[] {
  const roots =
    existsSync('/sys/fs/cgroup/cgroup.procs') && !existsSync('/sys/fs/cgroup/systemd')
      ? ['/sys/fs/cgroup']
      : ['/sys/fs/cgroup/systemd', '/sys/fs/cgroup/unified'].filter((r) => existsSync(join(r, 'cgroup.procs')));
  return roots.map((r) => join(r, 'palisade-lab', machine));
}

/** Starts `systemd-nspawn ARGS` (ARGS name `machine`) in the machine's own cgroups, console to `log`; returns its PID. */
export function startMachine(rec: StateRecorder, machine: string, what: string, args: string[], log: string): number {
  const procsFiles = machineCgroups(machine).map((cg) => {
    rec.add({ kind: 'cgroup', path: cg });
    mkdirSync(cg, { recursive: true });
    return join(cg, 'cgroup.procs');
  });
  const pid = startDetached([join(here, 'in-cgroup.sh'), procsFiles.join(','), 'systemd-nspawn', ...args], log);
  rec.add({ kind: 'process', what, pid, start: procStart(pid) ?? '' });
  return pid;
}

/** Records a machine's init processes (children of its nspawn, within 1 s), so a lab whose nspawn dies still stops cleanly. */
export async function recordInit(rec: StateRecorder, name: string, nspawnPid: number): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const kids = childrenOf(nspawnPid);
    if (kids.length) {
      for (const k of kids) rec.add({ kind: 'process', what: `${name} init`, pid: k, start: procStart(k) ?? '' });
      return;
    }
    await sleep(20);
  }
}
