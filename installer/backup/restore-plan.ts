/**
 * The decisions a restore makes before it touches a host, as pure functions:
 * is this backup one this palisade and this bundle may restore, which hosts
 * are new machines, and may the keystore in the backup be put in place.
 */
import { PalisadeError } from '../core/errors.ts';
import { compareVersions, type BackupHeader } from './format.ts';

export interface RestoreTarget {
  cluster: string;
  palisade: string;
  /** the cluster version the bundle ships (k3s) */
  clusterVersion?: string;
}

/** Refuse a backup of another cluster, or from a newer palisade or cluster than this one can run. */
export function checkRestorable(h: BackupHeader, t: RestoreTarget, file: string): void {
  if (h.cluster !== t.cluster) {
    throw new PalisadeError('restore.cluster', `${file} is a backup of cluster "${h.cluster}", palisade.yaml is cluster "${t.cluster}"; nothing was changed`, {
      exitCode: 2,
      hint: 'restore it with the palisade.yaml it was taken with (it is inside: config/palisade.yaml)',
    });
  }
  if ((compareVersions(h.versions.palisade, t.palisade) ?? 0) > 0) {
    throw new PalisadeError(
      'restore.newer-palisade',
      `${file} was taken by palisade ${h.versions.palisade}, newer than this palisade ${t.palisade}; nothing was changed`,
      { hint: `restore it with palisade ${h.versions.palisade} or later` },
    );
  }
  if (h.versions.cluster && t.clusterVersion && (compareVersions(h.versions.cluster, t.clusterVersion) ?? 0) > 0) {
    throw new PalisadeError(
      'restore.newer-cluster',
      `${file} holds a cluster at ${h.versions.cluster}, newer than the bundle's ${t.clusterVersion}: a datastore cannot go back a version; nothing was changed`,
      { hint: `restore with a bundle that ships ${h.versions.cluster} or later (--bundle)` },
    );
  }
}

/**
 * New machines since the backup: the host key pinned now differs from the one the backup
 * recorded, or the machine-id does (or none was recorded). Either alone can stay the same on a
 * rebuilt host (a kept host key, a machine-id the hypervisor hands down).
 */
export function replacedHosts(
  recorded: { machineIds?: Record<string, string>; hostKeys?: Record<string, string | null> },
  now: { machineIds: ReadonlyMap<string, string>; hostKeys: Record<string, string | undefined> },
): string[] {
  return [...now.machineIds.keys()]
    .filter((h) => {
      const idChanged = !recorded.machineIds || recorded.machineIds[h] !== now.machineIds.get(h);
      const keyChanged = recorded.hostKeys !== undefined && (recorded.hostKeys[h] ?? undefined) !== now.hostKeys[h];
      return idChanged || keyChanged;
    })
    .sort();
}

export type KeystoreAction = 'write' | 'same' | 'keep-newer';

/**
 * The keystore goes back where it is missing; a different one here is newer work (rotated keys,
 * new recovery keys) and is only replaced when the operator says so.
 */
export function keystoreAction(local: { sha256: string } | undefined, backupSha256: string, yes: boolean): KeystoreAction {
  if (!local) return 'write';
  if (local.sha256 === backupSha256) return 'same';
  return yes ? 'write' : 'keep-newer';
}
