import { takeBackup } from '../../backup/take.ts';
import { PalisadeError, errorMessage } from '../../core/errors.ts';
import { HOSTS } from '../install/outputs.ts';
import type { Phase } from '../types.ts';
import type { UpgradeContext } from './context.ts';
import { UPGRADE_PLAN, UPGRADE_RECORD } from './outputs.ts';

/** `palisade backup` before any host is touched; its path goes into the record and the report. A failed backup stops the upgrade. */
export const backupPhase: Phase<UpgradeContext> = {
  id: 'upgrade-backup',
  title: 'Back up the appliance before the upgrade',
  shouldRun: (_ctx, i) => {
    const rec = i.outputs.maybe(UPGRADE_RECORD);
    const plan = i.outputs.get(UPGRADE_PLAN);
    return !!rec && !plan.upToDate && !rec.run?.backup;
  },
  async run(ctx, task) {
    const rec = task.outputs.get(UPGRADE_RECORD);
    const plan = task.outputs.get(UPGRADE_PLAN);
    const r = await task.change(undefined, 'take a backup (palisade backup) before touching a host', async () => {
      try {
        return await takeBackup(ctx.loaded, {
          passphrase: ctx.passphrase,
          hosts: new Map(task.outputs.get(HOSTS)),
          driver: ctx.driver,
          reason: `before upgrade to ${plan.target}`,
          onProgress: (l) => task.output(l),
        });
      } catch (e) {
        throw new PalisadeError('upgrade.backup', `the pre-upgrade backup failed, so no host was touched: ${errorMessage(e)}`, {
          hint: 'fix the cause (`palisade backup` alone shows it), then run the upgrade again',
        });
      }
    });
    if (r) {
      await rec.update({ backup: r.path });
      task.note(`backup: ${r.path}`);
    }
  },
};
