import { open, readFile, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { PalisadeError } from '../core/errors.ts';

/**
 * A lock file beside the keystore: created with O_EXCL, holding the owner's
 * pid and host. A lock left by a process that no longer runs (same host) is
 * taken over; a live owner makes us wait a little, then fail clearly.
 */

export interface LockInfo {
  pid: number;
  host: string;
  since: string;
  command: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readLock(path: string): Promise<LockInfo | undefined> {
  try {
    const text = await readFile(path, 'utf8');
    const o = JSON.parse(text) as Partial<LockInfo>;
    if (typeof o.pid !== 'number') return undefined;
    return { pid: o.pid, host: String(o.host ?? ''), since: String(o.since ?? ''), command: String(o.command ?? '') };
  } catch {
    return undefined;
  }
}

export interface Lock {
  release(): Promise<void>;
}

/** Take the lock at `path`; waits up to `waitMs` for a live owner to finish. */
export async function acquireLock(path: string, opts: { waitMs?: number; what?: string } = {}): Promise<Lock> {
  const deadline = Date.now() + (opts.waitMs ?? 5000);
  const me: LockInfo = { pid: process.pid, host: hostname(), since: new Date().toISOString(), command: process.argv.slice(2, 4).join(' ') };
  let unreadableSince: number | undefined;
  for (;;) {
    try {
      const fh = await open(path, 'wx', 0o600);
      try {
        await fh.writeFile(JSON.stringify(me) + '\n');
        await fh.sync();
      } finally {
        await fh.close();
      }
      let released = false;
      return {
        async release() {
          if (released) return;
          released = true;
          const cur = await readLock(path);
          if (cur && cur.pid === me.pid && cur.host === me.host) await unlink(path).catch(() => undefined);
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const owner = await readLock(path);
    if (owner === undefined) {
      // being written this instant, or an unreadable leftover: after a second it counts as stale
      unreadableSince ??= Date.now();
      if (Date.now() - unreadableSince > 1000) {
        await unlink(path).catch(() => undefined);
        unreadableSince = undefined;
      }
      await sleep(50);
      continue;
    }
    unreadableSince = undefined;
    if (owner.host === me.host && !alive(owner.pid)) {
      // stale: its process is gone. Remove it only if it is still the same lock.
      const cur = await readLock(path);
      if (cur && cur.pid === owner.pid && cur.since === owner.since) await unlink(path).catch(() => undefined);
      continue;
    }
    if (Date.now() > deadline) {
      throw new PalisadeError('keystore.locked', `${opts.what ?? path} is locked by process ${owner.pid} on ${owner.host}${owner.command ? ` (palisade ${owner.command})` : ''} since ${owner.since}`, {
        hint: owner.host === me.host ? 'wait for that command to finish, then run this one again' : `that process runs on another machine; if it is gone, remove ${path}`,
      });
    }
    await sleep(100);
  }
}
