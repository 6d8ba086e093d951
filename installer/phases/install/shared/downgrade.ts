import { PalisadeError } from '../../../core/errors.ts';
import { upgradeProblems } from '../../../upgrade/versions.ts';
import type { Outputs } from '../../types.ts';
import type { InstallContext } from '../context.ts';
import { BUNDLE, HOSTS } from '../outputs.ts';

/**
 * After an upgrade, an older bundle given to install would quietly take the cluster back a
 * version (the registry first, then k3s), which Kubernetes does not support: etcd and the API
 * objects may already be at the newer schema. Refused while the hosts are only connected, before
 * any phase writes, so the journal still says the appliance is installed and `palisade upgrade`
 * keeps working.
 */
export async function refuseDowngrade(ctx: InstallContext, outputs: Outputs): Promise<void> {
  // the binary the cluster phase installs (bin/k3s); a bundle that does not name its version is not compared
  const target = outputs.maybe(BUNDLE)?.manifest.components?.binaries?.find((b) => b.name === 'k3s')?.version;
  const hosts = outputs.maybe(HOSTS);
  if (!target || !hosts) return;
  const nodes = await Promise.all(
    ctx.topology.nodes.map(async (n) => {
      const h = hosts.get(n.name);
      const version = h ? await ctx.driver.version(h).catch(() => undefined) : undefined;
      return { name: n.name, role: n.role === 'agent' ? ('worker' as const) : ('controller' as const), version };
    }),
  );
  // a node with nothing installed yet has no version: only nodes that run something are compared
  const down = upgradeProblems(
    nodes.filter((n) => n.version !== undefined),
    target,
  ).find((p) => p.code === 'downgrade');
  if (down) {
    throw new PalisadeError('install.downgrade', down.message, {
      hint: 'install with the bundle the cluster runs now; a newer one goes through `palisade upgrade`, and going back after a failed upgrade through `palisade upgrade rollback` or `palisade restore`',
    });
  }
}
