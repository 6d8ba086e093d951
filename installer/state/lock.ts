import { hostname } from 'node:os';
import { PalisadeError } from '../core/errors.ts';
import { acquireFileLock, type FileLock } from '../core/lock.ts';

/**
 * The install journal's lock: one palisade run per cluster state directory,
 * refused at once while another run holds it; released on exit. The lock
 * itself is core/lock.ts; this names the error an operator sees.
 */
export type LocalLock = FileLock;

export function acquireLocalLock(path: string, o: { command: string; runId: string }): Promise<LocalLock> {
  return acquireFileLock(path, {
    command: o.command,
    runId: o.runId,
    busy: (c) =>
      new PalisadeError('state.locked', `another palisade run holds ${path}: pid ${c.pid} on ${c.hostname} since ${c.startedAt} (${c.command})`, {
        hint:
          c.hostname === hostname()
            ? 'wait for it to finish, or stop it (Ctrl-C) first'
            : `that run is on another machine (${c.hostname}); wait for it, or remove the lock file once you are sure it is not running`,
      }),
  });
}
