import { PalisadeError } from '../../core/errors.ts';
import { applyEncryption, escrowIndex, gatherAll, planEncryption, planHasWork } from '../../encryption/index.ts';
import type { Phase } from '../types.ts';
import type { InstallContext } from './context.ts';
import { DISKS_IN_PLACE, HOSTS } from './outputs.ts';

/**
 * Encrypt the data disks (LUKS2 with tpm2, tang or a passphrase), each
 * recovery key escrowed in the keystore before its disk is formatted. Says
 * whether every disk is in place, so verify need not probe them again.
 */
export const encryptPhase: Phase<InstallContext> = {
  id: 'encrypt',
  title: 'Encrypt the data disks (LUKS2, recovery keys escrowed first)',
  provides: [DISKS_IN_PLACE],
  async shouldRun(ctx, i) {
    if (!ctx.topology.anyEncrypted) return false;
    const ks = await ctx.keys.keystore();
    const { facts } = await gatherAll(ctx.config, [...i.outputs.get(HOSTS).values()], ctx.config.ssh.concurrency);
    // no keystore yet holds no recovery key: a palisade-made disk is then not ours to keep
    const plan = planEncryption({ config: ctx.config, facts, escrow: ks ? escrowIndex(ctx.config, ks) : new Map() });
    const work = planHasWork(plan); // a refusal counts: the run then stops with its reasons
    i.provide(DISKS_IN_PLACE, !work && plan.hosts.every((h) => h.blockers.length === 0));
    return work;
  },
  async run(ctx, task) {
    const ks = await ctx.keys.keystoreOrCreate(task);
    const hosts = ctx.config.hosts.filter((h) => ctx.topology.encrypts(h)).map((h) => `${h.name} (${ctx.topology.encryptionMode(h)})`);
    const r = await task.change(undefined, `encrypt the data disks of ${hosts.join(', ')}; recovery keys go to the keystore first`, () =>
      applyEncryption({
        config: ctx.config,
        hosts: [...task.outputs.get(HOSTS).values()],
        keystore: ks!,
        allowUnopened: ctx.config.encryption.allowUnopened,
        onProgress: (e) => task.output(`${e.host}${e.device ? ` ${e.device}` : ''}: ${e.step}${e.detail ? ` (${e.detail})` : ''}`),
      }),
    );
    if (!r) return;
    for (const h of r.hosts) for (const d of h.disks) task.note(`${h.host} ${d.device}: ${d.outcome}, ${d.state}`);
    const bad = r.hosts.filter((h) => !h.ok);
    if (bad.length) {
      throw new PalisadeError('install.encrypt', `disk encryption failed on ${bad.map((h) => h.host).join(', ')}`, {
        details: bad.map((h) => ({ path: h.host, message: h.error?.message ?? 'failed', ...(h.error?.hint ? { hint: h.error.hint } : {}) })),
      });
    }
    // apply verified every disk it touched (header, pins, escrowed key): verify need not do it again
    task.provide(DISKS_IN_PLACE, true);
  },
};
