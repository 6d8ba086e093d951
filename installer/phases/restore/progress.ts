/**
 * How far a restore from one backup file got: the cluster's services are
 * stopped, the snapshot restored, which controllers rejoined. Stopping and
 * clearing are not states a host can be asked about afterwards, so a resumed
 * restore (after a crash or a kill) reads this instead of doing them again.
 * Kept in .palisade/<cluster>/restore.json until the restore is done.
 */
import { readFile, rm } from 'node:fs/promises';
import { writeFileAtomic } from '../../core/atomic.ts';

export interface RestoreProgressData {
  /** SHA-256 of the backup file this progress belongs to */
  backup: string;
  startedAt: string;
  stopped: boolean;
  restored: boolean;
  rejoined: string[];
}

export class RestoreProgress {
  private constructor(readonly path: string, readonly data: RestoreProgressData, private readonly dryRun: boolean) {}

  /** the progress of a restore from this backup, or a new one (a different backup starts over) */
  static async open(path: string, backupSha256: string, dryRun: boolean): Promise<RestoreProgress> {
    try {
      const d = JSON.parse(await readFile(path, 'utf8')) as RestoreProgressData;
      if (d.backup === backupSha256) return new RestoreProgress(path, d, dryRun);
    } catch {
      // none yet
    }
    return new RestoreProgress(path, { backup: backupSha256, startedAt: new Date().toISOString(), stopped: false, restored: false, rejoined: [] }, dryRun);
  }

  async set(patch: Partial<Omit<RestoreProgressData, 'backup' | 'startedAt'>>): Promise<void> {
    Object.assign(this.data, patch);
    if (!this.dryRun) await writeFileAtomic(this.path, `${JSON.stringify(this.data, null, 2)}\n`, { mode: 0o600, mkdirp: true });
  }

  async finish(): Promise<void> {
    if (!this.dryRun) await rm(this.path, { force: true });
  }
}
