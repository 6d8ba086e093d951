import { stat } from 'node:fs/promises';
import { extractBackup, removeStaleExtracts } from '../../backup/extract.ts';
import { MEMBERS } from '../../backup/format.ts';
import { checkRestorable } from '../../backup/restore-plan.ts';
import { buildInfo } from '../../core/build-info.ts';
import { PalisadeError } from '../../core/errors.ts';
import { redact } from '../../core/log.ts';
import { BUNDLE } from '../install/outputs.ts';
import type { Phase } from '../types.ts';
import { BACKUP, BACKUP_TOKEN, PROGRESS, type RestoreContext } from './context.ts';
import { RestoreProgress } from './progress.ts';

/**
 * Decrypt the whole backup and hold every member to its manifest before
 * anything else: a wrong passphrase, a changed or cut-off file, a backup of
 * another cluster or from a newer palisade or cluster version stops the
 * restore here, before any host is touched. It is unpacked into a private
 * directory (0700) that the end of the run removes; the token stays in memory.
 */
export const verifyBackupPhase: Phase<RestoreContext> = {
  id: 'verify-backup',
  title: 'Verify the backup (every member against its manifest, versions)',
  always: true,
  readOnly: true,
  provides: [BACKUP, BACKUP_TOKEN, PROGRESS],
  shouldRun: () => true,
  async run(ctx, task) {
    if (
      !(await stat(ctx.backupPath).then(
        (x) => x.isFile(),
        () => false,
      ))
    )
      throw new PalisadeError('backup.missing', `${ctx.backupPath}: no such backup file; nothing was changed`, {
        exitCode: 2,
        hint: '`palisade backup list DIR` shows the backups there',
      });
    await removeStaleExtracts(ctx.stateDir);
    const b = await extractBackup(ctx.backupPath, ctx.openKey, ctx.stateDir);
    task.provide(BACKUP, b);
    const k3s = task.outputs.maybe(BUNDLE)?.manifest.components.binaries.find((c) => c.name === 'k3s');
    checkRestorable(
      b.header,
      { cluster: ctx.config.cluster.name, palisade: buildInfo().version, ...(k3s?.version ? { clusterVersion: k3s.version } : {}) },
      ctx.backupPath,
    );
    const token = b.secrets.get(MEMBERS.token)?.toString('utf8').trim();
    if (!token) throw new PalisadeError('backup.manifest', `${ctx.backupPath}: the backup holds no cluster token; nothing was changed`);
    redact.add(token);
    task.provide(BACKUP_TOKEN, token);
    task.provide(PROGRESS, await RestoreProgress.open(`${ctx.stateDir}/restore.json`, `${b.header.createdAt} ${b.header.snapshot.name}`));
    task.output(
      `${b.members.length} members verified; taken ${b.header.createdAt} from ${b.header.takenFrom.controller} (palisade ${b.header.versions.palisade}, cluster ${b.header.versions.cluster ?? '?'})`,
    );
  },
  async cleanup(_ctx, outputs) {
    await outputs
      .maybe(BACKUP)
      ?.remove()
      .catch(() => undefined);
  },
};
