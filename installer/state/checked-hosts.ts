import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../core/atomic.ts';

/**
 * The hosts preflight passed on, by machine-id. Preflight gates the first install
 * (afterwards the appliance itself holds the ports and disks it checks), so a re-run
 * skips it, unless a host is new or was replaced (another machine-id at its address).
 */
export type CheckedHosts = Record<string, string>;

/** The recorded hosts; undefined when there is no readable record (an install from before it was kept). */
export async function readCheckedHosts(path: string): Promise<CheckedHosts | undefined> {
  try {
    const v: unknown = JSON.parse(await readFile(path, 'utf8'));
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'));
    }
  } catch {
    // missing or unreadable
  }
  return undefined;
}

export function writeCheckedHosts(path: string, hosts: CheckedHosts): Promise<void> {
  return writeFileAtomic(path, `${JSON.stringify(hosts, null, 2)}\n`, { mkdirp: true });
}

/** Hosts preflight has not passed on as the machines they are now (pure). */
export function uncheckedHosts(checked: CheckedHosts, current: ReadonlyMap<string, string>): string[] {
  return [...current].filter(([name, id]) => checked[name] !== id).map(([name]) => name);
}
