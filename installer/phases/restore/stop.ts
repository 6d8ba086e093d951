import { PalisadeError, errorMessage } from '../../core/errors.ts';
import { settleLimit } from '../../core/limit.ts';
import { host, nodeSpecs } from '../install-context.ts';
import type { Phase } from '../types.ts';
import type { RestoreContext } from './context.ts';

/** Every node's cluster service stopped before the datastore is replaced (k3s: restore with the servers down). */
export const stopPhase: Phase<RestoreContext> = {
  id: 'stop',
  title: 'Stop the cluster service on every node',
  shouldRun: (ctx) => !ctx.progress?.data.stopped,
  async run(ctx, task) {
    const nodes = nodeSpecs(ctx.config);
    const r = await settleLimit(nodes, ctx.config.ssh.concurrency, (n) => ctx.driver.stopService(host(ctx, n.name), n));
    const failed = r.flatMap((x, i) => (x.status === 'rejected' ? [{ path: nodes[i]!.name, message: errorMessage(x.reason) }] : []));
    if (failed.length) throw new PalisadeError('restore.stop', `cannot stop the cluster service on ${failed.length} node(s)`, { details: failed });
    await ctx.progress?.set({ stopped: true });
    task.output(`stopped on ${nodes.map((n) => n.name).join(', ')}`);
  },
  dryRun: (ctx) => [`stop ${ctx.driver.name} on ${nodeSpecs(ctx.config).map((n) => n.name).join(', ')}`],
};
