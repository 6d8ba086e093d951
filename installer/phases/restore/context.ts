/**
 * What a restore starts from: the install context (the install phases that
 * put hosts, disks, keys and the registry in place run as they are) plus the
 * backup file and the key that opens it; and what the restore phases hand on.
 */
import type { OpenKey } from '../../backup/age.ts';
import type { Extracted } from '../../backup/extract.ts';
import type { ClusterSpec } from '../../cluster/types.ts';
import type { InstallContext } from '../install/context.ts';
import { specFor } from '../install/shared/cluster.ts';
import { output, type Outputs } from '../types.ts';
import type { RestoreProgress } from './progress.ts';

export interface RestoreContext extends InstallContext {
  backupPath: string;
  openKey: OpenKey;
  /** --yes: also replace a keystore here that differs from the backup's */
  yes: boolean;
}

/** the verified, unpacked backup (verify-backup); nothing later runs on an unverified one */
export const BACKUP = output<Extracted>('backup');
/** the cluster token from the backup: the snapshot's bootstrap data is sealed with it (verify-backup) */
export const BACKUP_TOKEN = output<string>('backup-token');
/** how far a restore from this backup got (verify-backup) */
export const PROGRESS = output<RestoreProgress>('restore-progress');
/** hosts that are new machines since the backup (connect) */
export const NEW_HOSTS = output<readonly string[]>('new-hosts');

/** The node's cluster spec with the backup's token. */
export async function restoreSpec(ctx: RestoreContext, outputs: Outputs, node: string): Promise<ClusterSpec> {
  return { ...(await specFor(ctx, outputs, node)), token: outputs.get(BACKUP_TOKEN) };
}
