import { randomBytes } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { link, mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PalisadeError } from './errors.ts';

/**
 * The one file lock: one holder at a time of a cluster's state directory, a
 * keystore, a lab directory. The lock is a file naming its owner (pid, process
 * start time, machine, command, run id).
 *
 * It is created complete: the owner is written and fsynced to a private temp
 * file, then hard-linked into place (link fails when the lock exists). So a
 * lock file is never seen half-written, and one that cannot be read is damage,
 * never a writer still at work. A lock whose owner ran on this machine and is
 * gone (its pid is dead, or now belongs to a process started at another time)
 * is stale and taken over; a lock from another machine is never judged by its
 * pid. It must not be used across machines sharing a filesystem as a mutex
 * with timeouts: it has no heartbeat.
 */

export interface LockOwner {
  pid: number;
  hostname: string;
  startedAt: string;
  command: string;
  runId: string;
  /** the process start time (Linux: /proc/PID/stat field 22), so a reused pid is not taken for the owner */
  procStart?: string;
}

export interface FileLock {
  readonly path: string;
  readonly owner: LockOwner;
  /** the stale lock that was replaced, if any */
  readonly tookOver: LockOwner | undefined;
  /** Remove the lock if it is still ours (synchronous, so it also runs on exit). */
  release(): void;
}

export interface LockOptions {
  /** what the holder is doing, for whoever finds the lock taken */
  command: string;
  runId?: string;
  /** wait this long for a live holder to finish (default 0: refuse at once) */
  waitMs?: number;
  /** the error for a lock a live owner holds */
  busy: (holder: LockOwner, path: string) => Error;
  /** release when the process exits (default true) */
  releaseOnExit?: boolean;
}

/** The start time of a process, or undefined where /proc does not tell. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // fields after "(comm)" start at field 3 (state); starttime is field 22
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[22 - 3];
  } catch {
    return undefined;
  }
}

export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Is this owner's process still running? Only meaningful for an owner on this machine. */
export function ownerRunning(owner: LockOwner, alive = pidAlive, startOf = processStartTime): boolean {
  if (!alive(owner.pid)) return false;
  if (owner.procStart === undefined) return true;
  const now = startOf(owner.pid);
  return now === undefined || now === owner.procStart;
}

export function parseLockOwner(text: string): LockOwner | undefined {
  try {
    const o = JSON.parse(text) as Partial<LockOwner> & { host?: string; since?: string };
    // `host`/`since`: the keystore's lock files of earlier versions
    const host = o.hostname ?? o.host;
    if (typeof o.pid !== 'number' || typeof host !== 'string') return undefined;
    return {
      pid: o.pid,
      hostname: host,
      startedAt: String(o.startedAt ?? o.since ?? ''),
      command: String(o.command ?? ''),
      runId: String(o.runId ?? ''),
      ...(typeof o.procStart === 'string' ? { procStart: o.procStart } : {}),
    };
  } catch {
    return undefined;
  }
}

/** The owner recorded in a lock file; undefined when there is none or it cannot be read. */
export function readLockOwner(path: string): LockOwner | undefined {
  try {
    return parseLockOwner(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Is this lock left by a run that is gone? A damaged lock (no owner) is; another machine's never is. */
export function isStale(owner: LockOwner | undefined, here = hostname(), alive = pidAlive, startOf = processStartTime): boolean {
  if (!owner) return true;
  return owner.hostname === here && !ownerRunning(owner, alive, startOf);
}

const MAX_TAKEOVERS = 5;

/** Take the lock at `path`, creating its directory (0700) when missing. */
export async function acquireFileLock(path: string, o: LockOptions): Promise<FileLock> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const start = processStartTime(process.pid);
  const owner: LockOwner = {
    pid: process.pid,
    hostname: hostname(),
    startedAt: new Date().toISOString(),
    command: o.command,
    runId: o.runId ?? randomBytes(8).toString('hex'),
    ...(start !== undefined ? { procStart: start } : {}),
  };
  const body = `${JSON.stringify(owner)}\n`;
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.new`;
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(body);
    await fh.sync();
  } finally {
    await fh.close();
  }
  const deadline = Date.now() + (o.waitMs ?? 0);
  let tookOver: LockOwner | undefined;
  let takeovers = 0;
  try {
    for (;;) {
      try {
        await link(tmp, path);
        return makeLock(path, owner, body, tookOver, o.releaseOnExit ?? true);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // released just now
        throw e;
      }
      const holder = parseLockOwner(text);
      if (isStale(holder)) {
        if (++takeovers > MAX_TAKEOVERS) {
          throw new PalisadeError('lock.contended', `could not take the lock ${path}`, { hint: 'another run is starting at the same time; try again' });
        }
        if (await removeIfUnchanged(path, text)) tookOver = holder;
        continue;
      }
      if (Date.now() >= deadline) throw o.busy(holder as LockOwner, path);
      await sleep(100);
    }
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/**
 * Remove a stale lock, but only the one that was judged: move it aside under a
 * unique name (atomic: of two racing takers only one moves this file), and put
 * it back when what was moved is not what was read (a new owner took it meanwhile).
 */
async function removeIfUnchanged(path: string, judged: string): Promise<boolean> {
  const aside = `${path}.stale.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    await rename(path, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
  const moved = await readFile(aside, 'utf8').catch(() => '');
  if (moved !== judged) await link(aside, path).catch(() => undefined);
  await unlink(aside).catch(() => undefined);
  return moved === judged;
}

function makeLock(path: string, owner: LockOwner, body: string, tookOver: LockOwner | undefined, onExit: boolean): FileLock {
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    process.off('exit', release);
    try {
      if (readFileSync(path, 'utf8') === body) unlinkSync(path);
    } catch {
      /* already gone */
    }
  };
  if (onExit) process.on('exit', release);
  return { path, owner, tookOver, release };
}
