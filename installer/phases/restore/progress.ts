/**
 * How far a restore from one backup file got: the cluster's services are
 * stopped, the snapshot restored, which controllers rejoined. Stopping and
 * clearing are not states a host can be asked about afterwards, so a resumed
 * restore (after a crash or a kill) reads this instead of doing them again.
 * Kept in .palisade/<cluster>/restore.json until the restore is done.
 */
import { readFile, rm } from 'node:fs/promises';
import { writeFileAtomic } from '../../core/atomic.ts';
import type { PhaseTask } from '../types.ts';

export interface RestoreProgressData {
  /** which backup this progress belongs to */
  backup: string;
  startedAt: string;
  stopped: boolean;
  restored: boolean;
  rejoined: string[];
}

export class RestoreProgress {
  private constructor(
    readonly path: string,
    readonly data: RestoreProgressData,
  ) {}

  /** the progress of a restore from this backup, or a new one (a different backup starts over) */
  static async open(path: string, backup: string): Promise<RestoreProgress> {
    try {
      const d = JSON.parse(await readFile(path, 'utf8')) as RestoreProgressData;
      if (d.backup === backup) return new RestoreProgress(path, d);
    } catch {
      // none yet
    }
    return new RestoreProgress(path, { backup, startedAt: new Date().toISOString(), stopped: false, restored: false, rejoined: [] });
  }

  async set(task: PhaseTask, patch: Partial<Omit<RestoreProgressData, 'backup' | 'startedAt'>>): Promise<void> {
    await task.change(undefined, `record the restore's progress in ${this.path}`, async () => {
      Object.assign(this.data, patch);
      await writeFileAtomic(this.path, `${JSON.stringify(this.data, null, 2)}\n`, { mode: 0o600, mkdirp: true });
    });
  }

  async finish(task: PhaseTask): Promise<void> {
    await task.change(undefined, `remove ${this.path}`, () => rm(this.path, { force: true }));
  }
}
