import { readFile } from 'node:fs/promises';
import { MEMBERS } from '../../backup/format.ts';
import { replacedHosts } from '../../backup/restore-plan.ts';
import { PalisadeError } from '../../core/errors.ts';
import { settleLimit } from '../../core/limit.ts';
import type { RemoteHost } from '../../hosts/types.ts';
import { acquireHostLocks } from '../../state/host-lock.ts';
import { HOST_LOCKS, HOSTS, MACHINE_IDS, PREFLIGHT_TARGETS } from '../install/outputs.ts';
import type { Phase } from '../types.ts';
import { BACKUP, NEW_HOSTS, type RestoreContext } from './context.ts';

const KEY_PROBLEMS = new Set(['ssh.hostkey-unknown', 'ssh.hostkey-changed']);

async function machineIds(hosts: ReadonlyMap<string, RemoteHost>, concurrency: number): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  await settleLimit([...hosts], concurrency, async ([name, h]) => {
    const r = await h.exec('cat /etc/machine-id');
    if (r.code === 0) ids.set(name, r.stdout.trim());
  });
  return ids;
}

/**
 * Connect with the pinned host keys. A replacement machine presents a new key:
 * the restore stops there and asks for `palisade hosts trust`, naming the
 * hosts it will treat as new. Hosts whose pinned key or machine-id differs
 * from the backup's record are new machines: the install phases that follow
 * set up their disks, registry and cluster files. Preflight is not run again.
 */
export const restoreConnectPhase: Phase<RestoreContext> = {
  id: 'connect',
  title: 'Connect to the hosts (pinned host keys) and lock them; find the replaced ones',
  always: true,
  readOnly: true,
  provides: [HOSTS, HOST_LOCKS, MACHINE_IDS, PREFLIGHT_TARGETS, NEW_HOSTS],
  shouldRun: () => true,
  async run(ctx, task) {
    const { hosts, failures } = await ctx.connect(ctx.config, ctx.baseDir);
    task.provide(HOSTS, hosts);
    const keyFailures = failures.filter((f) => KEY_PROBLEMS.has(f.error.code));
    if (keyFailures.length) {
      throw new PalisadeError(
        'restore.hosts-trust',
        `${keyFailures.length} host(s) present a host key that is not pinned: ${keyFailures.map((f) => f.name).join(', ')}. The restore will treat them as new machines; nothing was changed`,
        {
          details: keyFailures.map((f) => ({ path: f.name, message: f.error.message.split('\n')[0]! })),
          hint: 'check each fingerprint on the host console, run `palisade hosts trust --replace`, then run the same restore again',
        },
      );
    }
    if (failures.length) {
      throw new PalisadeError(
        'restore.connect',
        `${failures.length} host(s) could not be reached: ${failures.map((f) => f.name).join(', ')}; nothing was changed`,
        {
          details: failures.map((f) => ({ path: f.name, message: f.error.message, ...(f.error.hint ? { hint: f.error.hint } : {}) })),
          hint: 'a restore needs every host of palisade.yaml; bring them back, then run it again',
        },
      );
    }
    const locks = await task.change(undefined, `lock ${[...hosts.keys()].join(', ')} for this run`, () =>
      acquireHostLocks([...hosts.values()], { runId: ctx.runId, concurrency: ctx.config.ssh.concurrency }),
    );
    if (locks) task.provide(HOST_LOCKS, locks);
    const ids = await machineIds(hosts, ctx.config.ssh.concurrency);
    task.provide(MACHINE_IDS, ids);
    task.provide(PREFLIGHT_TARGETS, []);
    const b = task.outputs.get(BACKUP);
    const json = async <T>(member: string): Promise<T | undefined> => {
      try {
        return JSON.parse(await readFile(b.file(member), 'utf8')) as T;
      } catch {
        return undefined;
      }
    };
    const recordedIds = await json<Record<string, string>>(MEMBERS.state('preflight-hosts.json'));
    const recordedKeys = await json<Record<string, string | null>>(MEMBERS.hostKeys);
    const fresh = replacedHosts(
      { ...(recordedIds ? { machineIds: recordedIds } : {}), ...(recordedKeys ? { hostKeys: recordedKeys } : {}) },
      { machineIds: ids, hostKeys: Object.fromEntries(ctx.config.hosts.map((h) => [h.name, h.hostKey])) },
    );
    task.provide(NEW_HOSTS, fresh);
    if (fresh.length) task.note(`new machines since the backup (set up as install does): ${fresh.join(', ')}`);
    task.output(`${hosts.size} host(s) connected${fresh.length ? `; new: ${fresh.join(', ')}` : ''}`);
  },
  async cleanup(_ctx, outputs) {
    await outputs
      .maybe(HOST_LOCKS)
      ?.release()
      .catch(() => undefined);
    await Promise.all([...(outputs.maybe(HOSTS)?.values() ?? [])].map((h) => h.close().catch(() => undefined)));
  },
};
