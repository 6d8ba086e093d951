import { artifactsOf } from '../install.ts';
import { host, nodeSpecs } from '../install-context.ts';
import type { Phase } from '../types.ts';
import type { RestoreContext } from './context.ts';
import { restoreSpec } from './spec.ts';

const agents = (ctx: RestoreContext) => nodeSpecs(ctx.config).filter((n) => n.role === 'agent');

/** The workers started again against the restored cluster. */
export const workersPhase: Phase<RestoreContext> = {
  id: 'workers',
  title: 'Restart the workers',
  perHost: (ctx) => agents(ctx).map((n) => n.name),
  async shouldRun(ctx, i) {
    const n = agents(ctx).find((x) => x.name === i.host)!;
    const c = await ctx.driver.check(host(ctx, n.name), n, await restoreSpec(ctx, n), await artifactsOf(ctx), host(ctx, nodeSpecs(ctx.config)[0]!.name));
    return !c.active || !c.ready || c.changed.length > 0;
  },
  async run(ctx, task, name) {
    const n = agents(ctx).find((x) => x.name === name)!;
    const timeoutMs = Number(process.env.PALISADE_CLUSTER_TIMEOUT_MS ?? 300_000);
    await ctx.driver.joinAgent(host(ctx, n.name), n, await restoreSpec(ctx, n), await artifactsOf(ctx), host(ctx, nodeSpecs(ctx.config)[0]!.name), { timeoutMs, signal: ctx.signal, onProgress: (l) => task.output(`${n.name}: ${l}`) });
  },
  dryRun: () => ['start the cluster agent, wait for the node to be Ready'],
};
