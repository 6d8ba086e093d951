import { seedRegistry } from '../../registry/seed.ts';
import { progressLine, seedSummary } from '../../registry/progress.ts';
import { verifyRegistry } from '../../registry/verify.ts';
import type { Phase } from '../types.ts';
import type { InstallContext } from './context.ts';
import { BUNDLE } from './outputs.ts';
import { registryAccess } from './shared/registry.ts';

/** Push the bundle's images and packs to the registry: missing blobs only, digests verified. */
export const seedPhase: Phase<InstallContext> = {
  id: 'seed',
  title: 'Seed the registry from the bundle (images and packs)',
  async shouldRun(ctx, i) {
    const r = await verifyRegistry({ ...(await registryAccess(ctx, i.outputs)), bundle: i.outputs.get(BUNDLE) });
    return !r.ok;
  },
  async run(ctx, task) {
    const access = await registryAccess(ctx, task.outputs);
    const r = await task.change(undefined, `push the bundle's images and packs to ${access.url} (missing blobs only)`, () =>
      seedRegistry({ ...access, bundle: task.outputs.get(BUNDLE), trustedKey: ctx.trustedKey, onProgress: (p) => task.output(progressLine(p)) }),
    );
    if (r) task.output(seedSummary(r));
  },
};
