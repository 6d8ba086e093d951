import { errorMessage } from '../../core/errors.ts';
import { settleLimit } from '../../core/limit.ts';
import { stateFiles } from '../../state/paths.ts';
import { upgradeHost } from '../../upgrade/host-step.ts';
import { apiHostOf, healthProblems } from '../../upgrade/live.ts';
import { formatMs } from '../../upgrade/render.ts';
import { parseDrainTimeout, runRolling, WindowStop } from '../../upgrade/rolling.ts';
import { describeWindow, nextWindows } from '../../upgrade/windows.ts';
import { HOSTS } from '../install/outputs.ts';
import { artifactsOf, specFor } from '../install/shared/cluster.ts';
import { hostOf } from '../install/shared/hosts.ts';
import type { Phase } from '../types.ts';
import type { UpgradeContext } from './context.ts';
import { UPGRADE_PLAN, UPGRADE_RECORD } from './outputs.ts';

/**
 * The rolling upgrade: controllers one at a time (first controller first),
 * then workers in batches of upgrade.workerConcurrency, each step started only
 * under the window rules (upgrade/rolling.ts) and each host journaled as its
 * own step. A failed host stops the run: the hosts after it are not touched.
 */
export const hostsPhase: Phase<UpgradeContext> = {
  id: 'upgrade-hosts',
  title: 'Upgrade the cluster host by host (controllers, then workers)',
  shouldRun: (_ctx, i) => i.outputs.get(UPGRADE_PLAN).steps.length > 0,
  async run(ctx, task) {
    const { outputs } = task;
    const plan = outputs.get(UPGRADE_PLAN);
    const rec = outputs.get(UPGRADE_RECORD);
    const hosts = outputs.get(HOSTS);
    const art = await artifactsOf(outputs);
    const live = { config: ctx.config, hosts, driver: ctx.driver, kubeconfigPath: stateFiles(ctx.stateDir).kubeconfig };
    const drainTimeoutMs = parseDrainTimeout(ctx.config.upgrade.drainTimeout);
    const one = async (name: string) => {
      const node = ctx.topology.nodes.find((n) => n.name === name)!;
      const spec = await specFor(ctx, outputs, name);
      const est = plan.hosts.find((h) => h.name === name)!.estimate;
      await task.forHost(name, async () => {
        await task.change(
          name,
          `upgrade ${name} to ${plan.target}: cordon, drain, new binary (previous kept), restart, Ready, uncordon, health gate`,
          async () => {
            const t0 = ctx.now();
            await rec.host(name, { status: 'running', startedAt: new Date(t0).toISOString() });
            try {
              await upgradeHost({
                driver: ctx.driver,
                host: hostOf(outputs, name),
                node,
                spec,
                art,
                version: plan.target,
                api: async () => (await apiHostOf(live, [name])) ?? hostOf(outputs, ctx.topology.firstController.name),
                drainTimeoutMs,
                forceDrain: ctx.forceDrain,
                readyTimeoutMs: ctx.clusterTimeoutMs,
                health: () => healthProblems(live),
                signal: ctx.signal,
                progress: (l) => task.output(l),
              });
            } catch (e) {
              await rec.host(name, { status: 'failed', error: errorMessage(e), finishedAt: new Date(ctx.now()).toISOString() });
              await rec.update({ status: 'failed' });
              throw e;
            }
            const t1 = ctx.now();
            await rec.host(name, { status: 'done', finishedAt: new Date(t1).toISOString(), durationMs: t1 - t0 });
            rec.state.history.push({
              host: name,
              role: node.role === 'agent' ? 'worker' : 'controller',
              durationMs: t1 - t0,
              finishedAt: new Date(t1).toISOString(),
            });
            await rec.save();
            task.output(`${name}: at ${plan.target} in ${formatMs(t1 - t0)} (estimated ${formatMs(est.ms)})`);
          },
        );
      });
    };
    try {
      await runRolling({
        steps: plan.steps,
        windowsFrom: (now) => nextWindows(ctx.config.maintenanceWindows, now, 30),
        now: ctx.now,
        ignoreWindow: ctx.ignoreWindow,
        waitForWindow: ctx.waitForWindow,
        signal: ctx.signal,
        runStep: async (step) => {
          const results = await settleLimit(step.hosts, step.hosts.length, one);
          const failed = results.find((r) => r.status === 'rejected');
          if (failed) throw failed.reason;
        },
        onWait: async (step, w, why) => {
          const d = describeWindow(w);
          task.note(`waiting for the window that opens ${d.startLocal} (${d.start}): ${why}; next: ${step.hosts.join(', ')}`);
          await task.change(undefined, 'record the wait in the upgrade record', () =>
            rec.update({ waited: [...(rec.run?.waited ?? []), { at: new Date(ctx.now()).toISOString(), until: d.start }] }),
          );
        },
        keepAlive: async () => {
          await Promise.all([...hosts.values()].map((h) => h.exec('true', { timeoutMs: 20_000 }).catch(() => undefined)));
        },
      });
    } catch (e) {
      if (e instanceof WindowStop) {
        await task.change(undefined, 'record the stop in the upgrade record', () =>
          rec.update({
            status: 'stopped',
            stops: [
              ...(rec.run?.stops ?? []),
              { at: new Date(ctx.now()).toISOString(), reason: e.message, ...(e.next ? { nextWindow: new Date(e.next.start).toISOString() } : {}) },
            ],
          }),
        );
      }
      throw e;
    }
  },
};
