import { writeFileAtomic } from '../../core/atomic.ts';
import { PalisadeError } from '../../core/errors.ts';
import { stateFiles } from '../../state/paths.ts';
import { healthProblems } from '../../upgrade/live.ts';
import { upgradeReportPath } from '../../upgrade/state.ts';
import { HOSTS } from '../install/outputs.ts';
import type { Phase } from '../types.ts';
import type { UpgradeContext } from './context.ts';
import { UPGRADE_PLAN, UPGRADE_RECORD } from './outputs.ts';

/**
 * Verify the upgraded appliance (every host at the target, API through the
 * FQDN, datastore members, registry) and write the upgrade report: per host
 * old → new version, start, end, duration and its estimate; the backup; whether
 * the run waited for a window or ignored the windows.
 */
export interface UpgradeReport {
  apiVersion: 'palisade/upgrade-report-v1';
  cluster: string;
  generatedAt: string;
  bundle: { name: string; version: string; path: string };
  target: string;
  startedAt: string;
  finishedAt: string;
  backup: string | undefined;
  ignoredWindow: boolean;
  waited: Array<{ at: string; until: string }>;
  stops: Array<{ at: string; reason: string; nextWindow?: string }>;
  hosts: Array<{
    name: string;
    role: string;
    from: string | undefined;
    to: string;
    startedAt?: string;
    finishedAt?: string;
    durationMs?: number;
    estimateMs?: number;
    estimateSource?: string;
  }>;
  health: string[];
}

export const reportPhase: Phase<UpgradeContext> = {
  id: 'upgrade-report',
  title: 'Verify and write the upgrade report',
  shouldRun: (_ctx, i) => {
    const rec = i.outputs.maybe(UPGRADE_RECORD);
    return !!rec?.run && rec.run.status !== 'done';
  },
  async run(ctx, task) {
    const rec = task.outputs.get(UPGRADE_RECORD);
    const plan = task.outputs.get(UPGRADE_PLAN);
    const run = rec.run!;
    const hosts = task.outputs.get(HOSTS);
    const versions = new Map(await Promise.all([...hosts].map(async ([n, h]) => [n, await ctx.driver.version(h).catch(() => undefined)] as const)));
    const behind = ctx.config.hosts.filter((h) => versions.get(h.name) !== run.target).map((h) => `${h.name} runs ${versions.get(h.name) ?? '?'}`);
    const health = await healthProblems({ config: ctx.config, hosts, driver: ctx.driver, kubeconfigPath: stateFiles(ctx.stateDir).kubeconfig });
    if (behind.length || health.length) {
      throw new PalisadeError('upgrade.verify', `the upgrade to ${run.target} does not verify: ${[...behind, ...health].join('; ')}`, {
        hint: 'fix the cause, then run the same command again',
      });
    }
    const finishedAt = new Date(ctx.now()).toISOString();
    const r: UpgradeReport = {
      apiVersion: 'palisade/upgrade-report-v1',
      cluster: ctx.config.cluster.name,
      generatedAt: finishedAt,
      bundle: run.bundle,
      target: run.target,
      startedAt: run.startedAt,
      finishedAt,
      backup: run.backup,
      ignoredWindow: run.ignoredWindow,
      waited: run.waited,
      stops: run.stops,
      hosts: ctx.config.hosts.map((h) => {
        const x = run.hosts[h.name];
        const est = plan.hosts.find((p) => p.name === h.name)?.estimate;
        return {
          name: h.name,
          role: h.role,
          from: x?.from,
          to: run.target,
          ...(x?.startedAt ? { startedAt: x.startedAt } : {}),
          ...(x?.finishedAt ? { finishedAt: x.finishedAt } : {}),
          ...(x?.durationMs !== undefined ? { durationMs: x.durationMs } : {}),
          ...(est ? { estimateMs: est.ms, estimateSource: est.source } : {}),
        };
      }),
      health,
    };
    await task.change(undefined, `write ${upgradeReportPath(ctx.stateDir)}`, async () => {
      await writeFileAtomic(upgradeReportPath(ctx.stateDir), JSON.stringify(r, null, 2) + '\n', { mode: 0o600, mkdirp: true });
      await rec.update({ status: 'done', finishedAt });
    });
    task.output(upgradeReportPath(ctx.stateDir));
  },
};
