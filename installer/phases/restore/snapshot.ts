import { writeFileAtomic } from '../../core/atomic.ts';
import { sh } from '../../core/quote.ts';
import { stateFiles } from '../../state/paths.ts';
import { artifactsOf } from '../install/shared/cluster.ts';
import { hostOf } from '../install/shared/hosts.ts';
import type { Phase } from '../types.ts';
import { BACKUP, PROGRESS, restoreSpec, type RestoreContext } from './context.ts';

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
  shouldRun: (_ctx, i) => !i.outputs.get(PROGRESS).data.restored,
  async run(ctx, task) {
    const { outputs } = task;
    const b = outputs.get(BACKUP);
    const first = ctx.topology.firstController;
    const node = ctx.topology.nodes.find((n) => n.name === first.name)!;
    const h = hostOf(outputs, first.name);
    const art = await artifactsOf(outputs);
    const spec = await restoreSpec(ctx, outputs, first.name);
    const remote = `${RESTORE_DIR}/${b.header.snapshot.name}`;
    await task.change(first.name, `upload the snapshot ${b.header.snapshot.name} to ${remote}`, async () => {
      await h.exec(sh`install -d -m 0700 ${RESTORE_DIR}`, { sudo: true, check: true });
      await h.upload(b.file(b.header.snapshot.member), remote, { mode: 0o600, sudo: true, owner: 'root:root' });
    });
    await task.change(first.name, `k3s server --cluster-reset --cluster-reset-restore-path=${remote} with the backup's token`, () =>
      ctx.driver.restoreSnapshot(h, node, spec, art, remote),
    );
    await task.change(first.name, `start ${ctx.driver.name} on ${first.name} and wait for it`, () =>
      ctx.driver.initFirstServer(h, node, spec, art, {
        timeoutMs: ctx.clusterTimeoutMs,
        signal: ctx.signal,
        onProgress: (l) => task.output(`${first.name}: ${l}`),
      }),
    );
    await task.change(undefined, 'fetch the kubeconfig again', async () =>
      writeFileAtomic(stateFiles(ctx.stateDir).kubeconfig, await ctx.driver.kubeconfig(h, ctx.config.cluster.fqdn), { mode: 0o600, mkdirp: true }),
    );
    await task.change(first.name, `remove ${RESTORE_DIR}`, () => h.exec(sh`rm -rf -- ${RESTORE_DIR}`, { sudo: true }));
    await outputs.get(PROGRESS).set(task, { restored: true });
    task.output(`${first.name}: restored and ready`);
  },
};
