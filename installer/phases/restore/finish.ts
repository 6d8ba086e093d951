import { writeFileAtomic } from '../../core/atomic.ts';
import type { Phase } from '../types.ts';
import { backupOf, type RestoreContext } from './context.ts';

/** The restore report; the unpacked backup and the progress record removed. */
export const finishPhase: Phase<RestoreContext> = {
  id: 'report',
  title: 'Write the restore report',
  readOnly: true,
  shouldRun: () => true,
  async run(ctx, task) {
    const b = backupOf(ctx);
    const path = `${ctx.stateDir}/restore-report.json`;
    const report = {
      apiVersion: 'palisade/restore-report-v1', cluster: ctx.config.cluster.name, restoredAt: new Date().toISOString(),
      backup: { file: ctx.backupPath, createdAt: b.header.createdAt, snapshot: b.header.snapshot.name, versions: b.header.versions },
      newHosts: ctx.newHosts ?? [], verify: ctx.report.verify, notes: ctx.report.notes,
    };
    await writeFileAtomic(path, `${JSON.stringify(report, null, 2)}\n`, { mode: 0o600, mkdirp: true });
    await ctx.progress?.finish();
    task.output(path);
  },
  dryRun: (ctx) => [`write ${ctx.stateDir}/restore-report.json`],
};
