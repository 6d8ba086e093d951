import { compareDebVersions } from '../debversion.ts';
import type { PackageEntry } from './index.ts';

/**
 * Which packages of the bundle's set a host takes: only upgrades of what it has
 * installed, only to a newer version (Debian ordering), only for its
 * architecture. A package the host does not have is not installed: a patch set
 * updates a host, it does not add software. Pure.
 */
export interface Upgrade {
  name: string;
  from: string;
  to: string;
  entry: PackageEntry;
}

export interface HostPatchPlan {
  upgrades: Upgrade[];
  /** in the set, same or older than what the host has */
  current: Array<{ name: string; installed: string; offered: string }>;
}

export function planPatches(installed: ReadonlyMap<string, string>, arch: string, set: readonly PackageEntry[]): HostPatchPlan {
  const best = new Map<string, PackageEntry>();
  for (const e of set) {
    if (e.architecture !== 'all' && e.architecture !== arch) continue;
    const b = best.get(e.name);
    if (!b || compareDebVersions(e.version, b.version) > 0) best.set(e.name, e);
  }
  const upgrades: Upgrade[] = [];
  const current: HostPatchPlan['current'] = [];
  for (const [name, e] of [...best].sort(([a], [b]) => a.localeCompare(b))) {
    const have = installed.get(name);
    if (have === undefined) continue;
    if (compareDebVersions(e.version, have) > 0) upgrades.push({ name, from: have, to: e.version, entry: e });
    else current.push({ name, installed: have, offered: e.version });
  }
  return { upgrades, current };
}

/** Packages whose new version needs a reboot to take effect even when no maintainer script says so. */
export const needsRebootByName = (name: string): boolean => /^linux-image-|^linux-modules-|^systemd$|^libc6$|^intel-microcode$|^amd64-microcode$/.test(name);
