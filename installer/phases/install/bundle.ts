import { openBundle } from '../../bundle/open.ts';
import { verifyBundle } from '../../bundle/verify.ts';
import type { Phase } from '../types.ts';
import type { InstallContext } from './context.ts';
import { BUNDLE } from './outputs.ts';

/** Verify the bundle (checksums, signature) and open it for the phases that install from it. */
export const bundlePhase: Phase<InstallContext> = {
  id: 'bundle',
  title: 'Verify the bundle',
  always: true,
  readOnly: true,
  provides: [BUNDLE],
  shouldRun: () => true,
  async run(ctx, task) {
    const r = await verifyBundle(ctx.bundlePath, ctx.trustedKey);
    // opened with the key: the signature is checked again over the bytes this run uses, and every
    // file later taken from the bundle is held to its signed digest when it is used
    const b = await openBundle(ctx.bundlePath, { trustedKey: ctx.trustedKey });
    task.provide(BUNDLE, b);
    task.output(`${b.manifest.name} ${b.manifest.version}: ${r.files ?? ''} files verified, signature good`);
  },
  async cleanup(_ctx, outputs) {
    await outputs.maybe(BUNDLE)?.close();
  },
};
