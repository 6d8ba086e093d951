import type { Phase } from '../types.ts';
import type { InstallContext } from './context.ts';

/** Generate the CA chain, certificates and service secrets the keystore lacks (a re-run keeps what is there). */
export const keysPhase: Phase<InstallContext> = {
  id: 'keys',
  title: 'Generate keys and certificates (or load them from the keystore)',
  shouldRun: async (ctx) => (await ctx.keys.missing()).length > 0,
  async run(ctx, task) {
    const made = await ctx.keys.ensure(task);
    task.output(`${made.length} key(s) generated and saved to ${ctx.keys.path}`);
  },
};
