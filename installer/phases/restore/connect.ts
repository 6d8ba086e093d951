import { readFile } from 'node:fs/promises';
import { MEMBERS } from '../../backup/format.ts';
import { replacedHosts } from '../../backup/restore-plan.ts';
import { PalisadeError } from '../../core/errors.ts';
import { settleLimit } from '../../core/limit.ts';
import { acquireHostLocks } from '../../state/host-lock.ts';
import type { Phase } from '../types.ts';
import { backupOf, type RestoreContext } from './context.ts';

const KEY_PROBLEMS = new Set(['ssh.hostkey-unknown', 'ssh.hostkey-changed']);

/**
 * Connect with the pinned host keys. A replacement machine presents a new key:
 * the restore stops there and asks for `palisade hosts trust`, naming the
 * hosts it will treat as new. Hosts whose machine-id differs from the backup's
 * record are new machines: their disks, registry and cluster files are put in
 * place by the install phases that follow.
 */
export const restoreConnectPhase: Phase<RestoreContext> = {
  id: 'connect',
  title: 'Connect to the hosts (pinned host keys) and lock them; find the replaced ones',
  always: true,
  readOnly: true,
  shouldRun: () => true,
  async run(ctx, task) {
    const { hosts, failures } = await ctx.connect(ctx.config, ctx.baseDir);
    for (const [n, h] of hosts) ctx.hosts.set(n, h);
    const keyFailures = failures.filter((f) => KEY_PROBLEMS.has(f.error.code));
    if (keyFailures.length) {
      const names = keyFailures.map((f) => f.name).join(', ');
      throw new PalisadeError('restore.hosts-trust', `${keyFailures.length} host(s) present a host key that is not pinned: ${names}. The restore will treat them as new machines; nothing was changed`, {
        details: keyFailures.map((f) => ({ path: f.name, message: f.error.message.split('\n')[0]! })),
        hint: 'check each fingerprint on the host console, run `palisade hosts trust --replace`, then run the same restore again',
      });
    }
    if (failures.length) {
      throw new PalisadeError('restore.connect', `${failures.length} host(s) could not be reached: ${failures.map((f) => f.name).join(', ')}; nothing was changed`, {
        details: failures.map((f) => ({ path: f.name, message: f.error.message, ...(f.error.hint ? { hint: f.error.hint } : {}) })),
        hint: 'a restore needs every host of palisade.yaml; bring them back, then run it again',
      });
    }
    if (!ctx.dryRun) ctx.hostLocks = await acquireHostLocks([...ctx.hosts.values()], { runId: ctx.runId, concurrency: ctx.config.ssh.concurrency });
    const ids = new Map<string, string>();
    await settleLimit([...ctx.hosts], ctx.config.ssh.concurrency, async ([name, h]) => {
      const r = await h.exec('cat /etc/machine-id');
      if (r.code === 0) ids.set(name, r.stdout.trim());
    });
    ctx.machineIds = ids;
    ctx.preflightTargets = [];
    const json = async <T>(member: string): Promise<T | undefined> => {
      try {
        return JSON.parse(await readFile(backupOf(ctx).file(member), 'utf8')) as T;
      } catch {
        return undefined;
      }
    };
    const machineIds = await json<Record<string, string>>(MEMBERS.state('preflight-hosts.json'));
    const hostKeys = await json<Record<string, string | null>>(MEMBERS.hostKeys);
    ctx.newHosts = replacedHosts(
      { ...(machineIds ? { machineIds } : {}), ...(hostKeys ? { hostKeys } : {}) },
      { machineIds: ids, hostKeys: Object.fromEntries(ctx.config.hosts.map((h) => [h.name, h.hostKey])) },
    );
    if (ctx.newHosts.length) task.note(`new machines since the backup (set up as install does): ${ctx.newHosts.join(', ')}`);
    task.output(`${hosts.size} host(s) connected${ctx.newHosts.length ? `; new: ${ctx.newHosts.join(', ')}` : ''}`);
  },
  dryRun: (ctx) => [`connect to ${ctx.config.hosts.map((h) => h.name).join(', ')}`],
};
