import { writeFileAtomic } from '../../core/atomic.ts';
import { VERIFY_RESULT } from '../install/outputs.ts';
import type { Phase } from '../types.ts';
import { BACKUP, NEW_HOSTS, PROGRESS, type RestoreContext } from './context.ts';

/** The restore report; the progress record removed (the run's end removes the unpacked backup). */
export const finishPhase: Phase<RestoreContext> = {
  id: 'report',
  title: 'Write the restore report',
  shouldRun: () => true,
  async run(ctx, task) {
    const b = task.outputs.get(BACKUP);
    const path = `${ctx.stateDir}/restore-report.json`;
    const report = {
      apiVersion: 'palisade/restore-report-v1',
      cluster: ctx.config.cluster.name,
      restoredAt: new Date().toISOString(),
      backup: { file: ctx.backupPath, createdAt: b.header.createdAt, snapshot: b.header.snapshot.name, versions: b.header.versions },
      newHosts: task.outputs.maybe(NEW_HOSTS) ?? [],
      verify: task.outputs.maybe(VERIFY_RESULT),
      notes: task.notes(),
    };
    await task.change(undefined, `write ${path}`, () => writeFileAtomic(path, `${JSON.stringify(report, null, 2)}\n`, { mode: 0o600, mkdirp: true }));
    await task.outputs.get(PROGRESS).finish(task);
    task.output(path);
  },
};
