import { artifactsOf } from '../install/shared/cluster.ts';
import { hostOf } from '../install/shared/hosts.ts';
import type { Phase } from '../types.ts';
import { restoreSpec, type RestoreContext } from './context.ts';

const agents = (ctx: RestoreContext) => ctx.topology.nodes.filter((n) => n.role === 'agent');

/** The workers started again against the restored cluster. */
export const workersPhase: Phase<RestoreContext> = {
  id: 'workers',
  title: 'Restart the workers',
  perHost: (ctx) => agents(ctx).map((n) => n.name),
  async shouldRun(ctx, i) {
    const n = agents(ctx).find((x) => x.name === i.host)!;
    const c = await ctx.driver.check(
      hostOf(i.outputs, n.name),
      n,
      await restoreSpec(ctx, i.outputs, n.name),
      await artifactsOf(i.outputs),
      hostOf(i.outputs, ctx.topology.firstController.name),
    );
    return !c.active || !c.ready || c.changed.length > 0;
  },
  async run(ctx, task, name) {
    const { outputs } = task;
    const n = agents(ctx).find((x) => x.name === name)!;
    const spec = await restoreSpec(ctx, outputs, n.name);
    await task.change(n.name, 'start the cluster agent and wait for the node', async () =>
      ctx.driver.joinAgent(hostOf(outputs, n.name), n, spec, await artifactsOf(outputs), hostOf(outputs, ctx.topology.firstController.name), {
        timeoutMs: ctx.clusterTimeoutMs,
        signal: ctx.signal,
        onProgress: (l) => task.output(`${n.name}: ${l}`),
      }),
    );
  },
};
