import { contentSha256 } from '../../hosts/files.ts';
import { sh } from '../../core/quote.ts';
import { DEFAULT_PATHS as REGISTRY_PATHS } from '../../registry/service.ts';
import { registryPhase as installRegistryPhase } from '../install/registry.ts';
import { BUNDLE } from '../install/outputs.ts';
import { hostOf } from '../install/shared/hosts.ts';
import type { Phase } from '../types.ts';
import type { UpgradeContext } from './context.ts';

/** The registry server from the new bundle, after the hosts: the install's registry phase, also run when the binary on the host differs. */
export const registryPhase: Phase<UpgradeContext> = {
  ...installRegistryPhase,
  id: 'upgrade-registry',
  title: 'Upgrade the registry server',
  async shouldRun(ctx, i) {
    const b = i.outputs.get(BUNDLE);
    if (!b.has('bin/registry')) return false;
    const h = hostOf(i.outputs, ctx.topology.registry.host.name);
    const want = await contentSha256(await b.localPath('bin/registry'));
    const have = (await h.exec(sh`sha256sum < ${REGISTRY_PATHS.binary} 2>/dev/null | cut -d' ' -f1`, { sudo: true })).stdout.trim();
    return have !== want || (await installRegistryPhase.shouldRun(ctx, i));
  },
};
