import { artifactsOf } from '../install/shared/cluster.ts';
import { hostOf } from '../install/shared/hosts.ts';
import type { Phase } from '../types.ts';
import { PROGRESS, restoreSpec, type RestoreContext } from './context.ts';

const servers = (ctx: RestoreContext) => ctx.topology.nodes.filter((n) => n.role === 'server');

/** The other controllers, one at a time (quorum): their old datastore cleared, then joined to the restored one. */
export const rejoinPhase: Phase<RestoreContext> = {
  id: 'rejoin',
  title: 'Clear the other controllers\u2019 datastores and rejoin them one at a time',
  shouldRun: (ctx, i) => servers(ctx).some((n) => !i.outputs.get(PROGRESS).data.rejoined.includes(n.name)),
  async run(ctx, task) {
    const { outputs } = task;
    const progress = outputs.get(PROGRESS);
    const art = await artifactsOf(outputs);
    const api = hostOf(outputs, ctx.topology.firstController.name);
    for (const n of servers(ctx)) {
      if (progress.data.rejoined.includes(n.name)) continue;
      ctx.signal.throwIfAborted();
      await task.forHost(n.name, async () => {
        const h = hostOf(outputs, n.name);
        const spec = await restoreSpec(ctx, outputs, n.name);
        await task.change(n.name, `stop ${ctx.driver.name} and clear its datastore`, async () => {
          await ctx.driver.stopService(h, n);
          if (await ctx.driver.clearDatastore(h, n, spec)) task.output(`${n.name}: old datastore cleared`);
        });
        await task.change(n.name, 'rejoin it as a controller', () =>
          ctx.driver.joinServer(h, n, spec, art, api, {
            timeoutMs: ctx.clusterTimeoutMs,
            signal: ctx.signal,
            onProgress: (l) => task.output(`${n.name}: ${l}`),
          }),
        );
        await progress.set(task, { rejoined: [...progress.data.rejoined, n.name] });
      });
      task.output(`${n.name}: rejoined`);
    }
  },
};
