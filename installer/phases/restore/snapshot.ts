import { writeFileAtomic } from '../../core/atomic.ts';
import { sh } from '../../core/quote.ts';
import { stateFiles } from '../../state/paths.ts';
import { artifactsOf } from '../install.ts';
import { host, nodeSpecs } from '../install-context.ts';
import type { Phase } from '../types.ts';
import { backupOf, type RestoreContext } from './context.ts';
import { restoreSpec } from './spec.ts';

const RESTORE_DIR = '/var/lib/palisade-restore';

/**
 * The datastore rebuilt on the first controller from the backup's snapshot,
 * the way k3s documents it (--cluster-reset --cluster-reset-restore-path, the
 * original token in config.yaml); then that controller is started and waited
 * for, and the kubeconfig fetched again.
 */
export const restoreSnapshotPhase: Phase<RestoreContext> = {
  id: 'snapshot',
  title: 'Restore the datastore snapshot on the first controller (cluster reset) and start it',
  shouldRun: (ctx) => !ctx.progress?.data.restored,
  async run(ctx, task) {
    const b = backupOf(ctx);
    const first = nodeSpecs(ctx.config)[0]!;
    const h = host(ctx, first.name);
    const art = await artifactsOf(ctx);
    const spec = await restoreSpec(ctx, first);
    const remote = `${RESTORE_DIR}/${b.header.snapshot.name}`;
    await h.exec(sh`install -d -m 0700 ${RESTORE_DIR}`, { sudo: true, check: true });
    await h.upload(b.file(b.header.snapshot.member), remote, { mode: 0o600, sudo: true, owner: 'root:root' });
    task.output(`${first.name}: ${b.header.snapshot.name} uploaded; k3s server --cluster-reset`);
    await ctx.driver.restoreSnapshot(h, first, spec, art, remote);
    const timeoutMs = Number(process.env.PALISADE_CLUSTER_TIMEOUT_MS ?? 300_000);
    await ctx.driver.initFirstServer(h, first, spec, art, { timeoutMs, signal: ctx.signal, onProgress: (l) => task.output(`${first.name}: ${l}`) });
    const kc = await ctx.driver.kubeconfig(h, ctx.config.cluster.fqdn);
    await writeFileAtomic(stateFiles(ctx.stateDir).kubeconfig, kc, { mode: 0o600, mkdirp: true });
    await h.exec(sh`rm -rf -- ${RESTORE_DIR}`, { sudo: true });
    await ctx.progress?.set({ restored: true });
    task.output(`${first.name}: restored and ready`);
  },
  dryRun: (ctx) => [`upload the snapshot to ${nodeSpecs(ctx.config)[0]!.name}, k3s server --cluster-reset --cluster-reset-restore-path, start it`],
};
