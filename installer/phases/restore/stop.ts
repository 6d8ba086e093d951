import { PalisadeError, errorMessage } from '../../core/errors.ts';
import { settleLimit } from '../../core/limit.ts';
import { hostOf } from '../install/shared/hosts.ts';
import type { Phase } from '../types.ts';
import { PROGRESS, type RestoreContext } from './context.ts';

/** Every node's cluster service stopped before the datastore is replaced (k3s: restore with the servers down). */
export const stopPhase: Phase<RestoreContext> = {
  id: 'stop',
  title: 'Stop the cluster service on every node',
  shouldRun: (_ctx, i) => !i.outputs.get(PROGRESS).data.stopped,
  async run(ctx, task) {
    const nodes = ctx.topology.nodes;
    const r = await settleLimit(nodes, ctx.config.ssh.concurrency, (n) =>
      task.change(n.name, `stop ${ctx.driver.name} on ${n.name}`, () => ctx.driver.stopService(hostOf(task.outputs, n.name), n)),
    );
    const failed = r.flatMap((x, i) => (x.status === 'rejected' ? [{ path: nodes[i]!.name, message: errorMessage(x.reason) }] : []));
    if (failed.length) throw new PalisadeError('restore.stop', `cannot stop the cluster service on ${failed.length} node(s)`, { details: failed });
    await task.outputs.get(PROGRESS).set(task, { stopped: true });
    task.output(`stopped on ${nodes.map((n) => n.name).join(', ')}`);
  },
};
