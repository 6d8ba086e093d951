import { PalisadeError } from '../../core/errors.ts';
import { gatherPlan } from '../../upgrade/gather.ts';
import { decideStep } from '../../upgrade/estimate.ts';
import { WindowStop } from '../../upgrade/rolling.ts';
import { nextWindows } from '../../upgrade/windows.ts';
import { BUNDLE, HOSTS } from '../install/outputs.ts';
import type { Phase } from '../types.ts';
import type { UpgradeContext } from './context.ts';
import { UPGRADE_PLAN, UPGRADE_RECORD } from './outputs.ts';
import { UpgradeRecord } from './record.ts';

/**
 * Read what runs now and check the plan's rules again (versions, skew,
 * health), then the window: outside one (and without --wait-for-window)
 * nothing is changed, not even the backup. Starts the upgrade record, or
 * continues the one a stopped or failed run left.
 */
export const checkPhase: Phase<UpgradeContext> = {
  id: 'upgrade-check',
  title: 'Check the upgrade (live versions, version rules, health, window)',
  always: true,
  readOnly: true,
  provides: [UPGRADE_PLAN, UPGRADE_RECORD],
  shouldRun: () => true,
  async run(ctx, task) {
    const now = ctx.now();
    const g = await gatherPlan({
      config: ctx.config,
      stateDir: ctx.stateDir,
      bundlePath: ctx.bundlePath,
      trustedKey: ctx.trustedKey,
      hosts: task.outputs.get(HOSTS),
      driver: ctx.driver,
      now,
      bundle: task.outputs.get(BUNDLE),
    });
    const plan = g.plan;
    task.provide(UPGRADE_PLAN, plan);
    if (plan.problems.length) {
      const [p] = plan.problems;
      throw new PalisadeError(p!.code, plan.problems.length === 1 ? p!.message : `the upgrade cannot start: ${plan.problems.length} problems`, {
        hint: p!.hint,
        ...(plan.problems.length > 1 ? { details: plan.problems.map((x) => ({ message: x.message, hint: x.hint })) } : {}),
      });
    }
    const record = await UpgradeRecord.open(ctx.stateDir);
    task.provide(UPGRADE_RECORD, record);
    const finished = plan.upToDate && record.run?.target === plan.target && record.run.status === 'done';
    if (finished) {
      task.output(`up to date: every host runs ${plan.target}`);
      return;
    }
    if (!ctx.ignoreWindow && !ctx.waitForWindow && plan.steps.length) {
      const ws = nextWindows(ctx.config.maintenanceWindows, now, 30);
      if (ctx.config.maintenanceWindows.length === 0) {
        throw new PalisadeError('upgrade.no-windows', 'no maintenance windows are configured, so no upgrade step may start', {
          hint: 'add maintenanceWindows to palisade.yaml (`palisade upgrade windows` shows them), or use --ignore-window --yes in an emergency',
        });
      }
      const d = decideStep(now, plan.steps[0]!.estimateMs, ws);
      if (d.kind === 'later') {
        if (record.continues(plan.target))
          await task.change(undefined, 'record the stop in the upgrade record', () =>
            record.update({
              status: 'stopped',
              stops: [...record.run!.stops, { at: new Date(now).toISOString(), reason: d.reason, nextWindow: new Date(d.next.start).toISOString() }],
            }),
          );
        throw new WindowStop(
          d.next,
          plan.steps.flatMap((s) => s.hosts),
          d.reason === 'outside'
            ? 'no maintenance window is open'
            : `the first step (~${Math.round(plan.steps[0]!.estimateMs / 1000)} s) does not fit in what is left of this window`,
        );
      }
    }
    if (!record.continues(plan.target)) await task.change(undefined, `start the upgrade record for ${plan.target}`, () => record.begin(plan, new Date(now)));
    else await task.change(undefined, 'continue the upgrade record', () => record.update({ status: 'running' }));
    if (ctx.ignoreWindow) await task.change(undefined, 'record --ignore-window in the upgrade record', () => record.update({ ignoredWindow: true }));
    task.output(`${plan.target}: ${plan.steps.length} step(s), ~${Math.round(plan.totalEstimateMs / 1000)} s estimated`);
  },
};
