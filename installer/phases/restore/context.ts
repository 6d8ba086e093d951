/**
 * What the restore phases share: the install context (the install phases that
 * put hosts, disks, keys and the registry in place are reused as they are)
 * plus the verified, unpacked backup and the restore's own progress record.
 */
import type { OpenKey } from '../../backup/age.ts';
import type { Extracted } from '../../backup/extract.ts';
import type { InstallContext } from '../install-context.ts';
import type { RestoreProgress } from './progress.ts';

export interface RestoreContext extends InstallContext {
  backupPath: string;
  openKey: OpenKey;
  /** set by the verify-backup phase: nothing later runs on an unverified backup */
  backup?: Extracted;
  /** the cluster token from the backup: the snapshot's bootstrap data is sealed with it */
  backupToken?: string;
  /** hosts that are new machines since the backup (replacements) */
  newHosts?: string[];
  progress?: RestoreProgress;
}

export function backupOf(ctx: RestoreContext): Extracted {
  if (!ctx.backup) throw new Error('the backup has not been verified yet');
  return ctx.backup;
}
