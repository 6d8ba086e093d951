import type { Phase } from '../types.ts';
import type { InstallContext } from './context.ts';
import { apiHost, manifestObjects, objectsOutOfPlace } from './shared/cluster.ts';

/** Keep the cluster's keys in the cluster: palisade-system Secrets, the registry pull secret, the ingress TLS. */
export const secretsPhase: Phase<InstallContext> = {
  id: 'secrets',
  title: 'Store keys in the cluster (palisade-system Secrets, pull secret, ingress TLS)',
  shouldRun: async (ctx, i) => (await objectsOutOfPlace(ctx, i.outputs)).length > 0,
  async run(ctx, task) {
    const api = apiHost(ctx, task.outputs);
    const res = await task.change(
      api.name,
      'apply manifests/ to namespace palisade-system (service secrets, CA, registry pull secret, ingress TLS)',
      async () => ctx.driver.apply(api, await manifestObjects(ctx, task.outputs)),
    );
    if (res) task.output(res.join(', '));
  },
};
