import { PalisadeError } from '../../core/errors.ts';
import { settleLimit } from '../../core/limit.ts';
import type { RemoteHost } from '../../hosts/types.ts';
import { readCheckedHosts, uncheckedHosts, writeCheckedHosts } from '../../state/checked-hosts.ts';
import { acquireHostLocks } from '../../state/host-lock.ts';
import { stateFiles } from '../../state/paths.ts';
import type { Phase } from '../types.ts';
import { allHosts, type InstallContext } from './context.ts';
import { refuseDowngrade } from './shared/downgrade.ts';
import { HOST_LOCKS, HOSTS, MACHINE_IDS, PREFLIGHT_TARGETS } from './outputs.ts';

/**
 * Connect to every host (pinned host keys), take the install lock on each, and
 * decide which hosts preflight checks: all of them until it has passed once,
 * then only hosts that are new or replaced since (by machine-id). A bundle older than what the
 * nodes run is refused here, before any phase writes.
 */
export const connectPhase: Phase<InstallContext> = {
  id: 'connect',
  title: 'Connect to the hosts (pinned host keys) and lock them',
  always: true,
  readOnly: true,
  provides: [HOSTS, HOST_LOCKS, MACHINE_IDS, PREFLIGHT_TARGETS],
  shouldRun: () => true,
  async run(ctx, task) {
    const { hosts, failures } = await ctx.connect(ctx.config, ctx.baseDir);
    task.provide(HOSTS, hosts);
    if (failures.length) {
      throw new PalisadeError('install.connect', `${failures.length} host(s) could not be reached: ${failures.map((f) => f.name).join(', ')}`, {
        details: failures.map((f) => ({ path: f.name, message: f.error.message, ...(f.error.hint ? { hint: f.error.hint } : {}) })),
        hint: 'bring the hosts back (or fix SSH access), then run the same command again: it resumes',
      });
    }
    await refuseDowngrade(ctx, task.outputs);
    const locks = await task.change(undefined, `lock ${[...hosts.keys()].join(', ')} for this run`, () =>
      acquireHostLocks([...hosts.values()], { runId: ctx.runId, concurrency: ctx.config.ssh.concurrency }),
    );
    if (locks) {
      task.provide(HOST_LOCKS, locks);
      for (const t of locks.tookOver) task.note(`${t.host}: took over a stale install lock of pid ${t.previous.pid} on ${t.previous.admin}`);
    }
    const ids = await readMachineIds(hosts, ctx.config.ssh.concurrency);
    task.provide(MACHINE_IDS, ids);
    const checkedFile = stateFiles(ctx.stateDir).checkedHosts;
    const checked = await readCheckedHosts(checkedFile);
    if (checked !== undefined) task.provide(PREFLIGHT_TARGETS, uncheckedHosts(checked, ids));
    else if (ctx.journal?.phase('preflight')?.status === 'done') {
      // preflight passed before its hosts were recorded: these are the hosts it passed on
      await task.change(undefined, `record the hosts preflight passed on in ${checkedFile}`, () => writeCheckedHosts(checkedFile, Object.fromEntries(ids)));
      task.provide(PREFLIGHT_TARGETS, []);
    } else task.provide(PREFLIGHT_TARGETS, allHosts(ctx));
    task.output(`${hosts.size} host(s) connected${locks ? ' and locked' : ''}`);
  },
  async cleanup(_ctx, outputs) {
    await outputs
      .maybe(HOST_LOCKS)
      ?.release()
      .catch(() => undefined);
    await Promise.all([...(outputs.maybe(HOSTS)?.values() ?? [])].map((h) => h.close().catch(() => undefined)));
  },
};

/** /etc/machine-id of every connected host: who the host is, for preflight's "already checked". */
async function readMachineIds(hosts: ReadonlyMap<string, RemoteHost>, concurrency: number): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  await settleLimit([...hosts], concurrency, async ([name, h]) => {
    const r = await h.exec('cat /etc/machine-id');
    const id = r.stdout.trim();
    if (r.code === 0 && /^[0-9a-f]{32}$/.test(id)) ids.set(name, id);
  });
  return ids;
}
