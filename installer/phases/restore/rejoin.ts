import { artifactsOf } from '../install.ts';
import { host, nodeSpecs } from '../install-context.ts';
import type { Phase } from '../types.ts';
import type { RestoreContext } from './context.ts';
import { restoreSpec } from './spec.ts';

const servers = (ctx: RestoreContext) => nodeSpecs(ctx.config).filter((n) => n.role === 'server');

/** The other controllers, one at a time (quorum): their old datastore cleared, then joined to the restored one. */
export const rejoinPhase: Phase<RestoreContext> = {
  id: 'rejoin',
  title: 'Clear the other controllers\u2019 datastores and rejoin them one at a time',
  shouldRun: (ctx) => servers(ctx).some((n) => !ctx.progress?.data.rejoined.includes(n.name)),
  async run(ctx, task) {
    const art = await artifactsOf(ctx);
    const api = host(ctx, nodeSpecs(ctx.config)[0]!.name);
    const timeoutMs = Number(process.env.PALISADE_CLUSTER_TIMEOUT_MS ?? 300_000);
    for (const n of servers(ctx)) {
      if (ctx.progress?.data.rejoined.includes(n.name)) continue;
      ctx.signal.throwIfAborted();
      const h = host(ctx, n.name);
      const spec = await restoreSpec(ctx, n);
      await ctx.journal?.mark('rejoin', n.name, 'running');
      await ctx.driver.stopService(h, n);
      if (await ctx.driver.clearDatastore(h, n, spec)) task.output(`${n.name}: old datastore cleared`);
      await ctx.driver.joinServer(h, n, spec, art, api, { timeoutMs, signal: ctx.signal, onProgress: (l) => task.output(`${n.name}: ${l}`) });
      await ctx.progress?.set({ rejoined: [...(ctx.progress?.data.rejoined ?? []), n.name] });
      await ctx.journal?.mark('rejoin', n.name, 'done');
      task.output(`${n.name}: rejoined`);
    }
  },
  dryRun: (ctx) => servers(ctx).map((n) => `${n.name}: clear its datastore, rejoin`),
};
