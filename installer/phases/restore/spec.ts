import type { ClusterSpec, NodeSpec } from '../../cluster/types.ts';
import { specFor } from '../install.ts';
import type { RestoreContext } from './context.ts';

/** The node's cluster spec with the token from the backup: the snapshot's bootstrap data is sealed with it. */
export async function restoreSpec(ctx: RestoreContext, node: NodeSpec): Promise<ClusterSpec> {
  const spec = await specFor(ctx, node);
  return ctx.backupToken ? { ...spec, token: ctx.backupToken } : spec;
}
