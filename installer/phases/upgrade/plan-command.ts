import { resolveTrustedKey } from '../../bundle/trust.ts';
import { k3sDriver } from '../../cluster/k3s.ts';
import type { ClusterDriver } from '../../cluster/types.ts';
import type { LoadedConfig } from '../../config/load.ts';
import { PalisadeError } from '../../core/errors.ts';
import { closeAll, connectHosts } from '../../hosts/index.ts';
import { stateDir } from '../../state/paths.ts';
import { gatherPlan } from '../../upgrade/gather.ts';
import type { UpgradePlan } from '../../upgrade/plan.ts';
import { describeWindow } from '../../upgrade/windows.ts';
import { renderPlan } from '../../upgrade/render.ts';

/** `palisade upgrade plan`: connect, gather, plan, disconnect. Changes nothing anywhere. */
export interface PlanOptions {
  loaded: LoadedConfig;
  bundle: string;
  trustedKey?: string;
  driver?: ClusterDriver;
  now?: number;
}

export type PlanJson = Omit<UpgradePlan, 'windows'> & { windows: ReturnType<typeof describeWindow>[] };

export async function planUpgrade(o: PlanOptions): Promise<{ plan: PlanJson; text: string }> {
  const { config, baseDir, path } = o.loaded;
  const trustedKey = await resolveTrustedKey({ ...(o.trustedKey ? { trustedKey: o.trustedKey } : {}), config: path, configExplicit: true });
  const { hosts, failures } = await connectHosts(config, baseDir);
  try {
    if (failures.length) {
      throw new PalisadeError('upgrade.connect', `${failures.length} host(s) could not be reached: ${failures.map((f) => f.name).join(', ')}`, {
        details: failures.map((f) => ({ path: f.name, message: f.error.message })),
        hint: 'an upgrade plan reads every host; bring them back first',
      });
    }
    const now = o.now ?? Date.now();
    const g = await gatherPlan({
      config,
      stateDir: stateDir(baseDir, config.cluster.name),
      bundlePath: o.bundle,
      trustedKey,
      hosts,
      driver: o.driver ?? k3sDriver,
      now,
    });
    await g.bundle.close().catch(() => undefined);
    const used = new Set(g.plan.schedule.steps.map((s) => s.window));
    const shown = g.plan.windows.filter((_, i) => i < 5 || used.has(i));
    return {
      plan: {
        ...g.plan,
        windows: shown.map(describeWindow),
        schedule: { ...g.plan.schedule, steps: g.plan.schedule.steps.map((s) => ({ ...s, window: shown.indexOf(g.plan.windows[s.window]!) })) },
      },
      text: renderPlan(g.plan, now),
    };
  } finally {
    await closeAll(hosts);
  }
}
