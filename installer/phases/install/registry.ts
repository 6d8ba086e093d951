import { installRegistry, REGISTRY_SERVICE } from '../../registry/service.ts';
import type { Phase } from '../types.ts';
import type { InstallContext } from './context.ts';
import { BUNDLE } from './outputs.ts';
import { hostOf, tunnelTo } from './shared/hosts.ts';
import { registryProblem } from './shared/registry.ts';

/** Run the pack registry on its host: TLS from our PKI, htpasswd auth, storage on the data disk. */
export const registryPhase: Phase<InstallContext> = {
  id: 'registry',
  title: 'Start the pack registry (TLS, auth, storage on the data disk)',
  shouldRun: async (ctx, i) => (await registryProblem(ctx, i.outputs)) !== undefined,
  async run(ctx, task) {
    const keys = await ctx.keys.keySet();
    const reg = keys.secrets.registry;
    const t = ctx.topology.registry;
    const h = hostOf(task.outputs, t.host.name);
    const r = await task.change(t.host.name, `install and start ${REGISTRY_SERVICE} at ${t.url}`, () =>
      installRegistry(h, {
        bundle: task.outputs.get(BUNDLE),
        cert: keys.registry.chainPem,
        key: keys.registry.keyPem,
        htpasswd: reg.htpasswd ? `${reg.htpasswd.trim()}\n` : { username: reg.username, password: reg.password },
        port: t.port,
        storageDir: t.storageDir,
        health: { url: t.url, ca: keys.rootCa.certPem, username: reg.username, password: reg.password, ...tunnelTo(ctx, task.outputs, h.name) },
        onProgress: (l) => task.output(`${h.name}: ${l}`),
      }),
    );
    if (r) task.output(`${r.url}: ${r.changed.length} file(s) changed${r.restarted ? ', restarted' : ''}`);
  },
};
