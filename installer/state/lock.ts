import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { link, mkdir, readFile, rename, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { PalisadeError } from '../core/errors.ts';

/**
 * The local lock: one palisade run per cluster state directory. Created with
 * O_EXCL and holding the pid; a lock whose pid is dead (on this machine) is
 * stale and is taken over; released on exit, Ctrl-C and SIGTERM.
 */
export interface LockOwner {
  pid: number;
  hostname: string;
  startedAt: string;
  command: string;
  runId: string;
}

export interface LocalLock {
  readonly path: string;
  readonly owner: LockOwner;
  /** stale lock that was replaced, if any */
  readonly tookOver: LockOwner | undefined;
  release(): void;
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

function parseOwner(text: string): LockOwner | undefined {
  try {
    const o = JSON.parse(text) as LockOwner;
    return typeof o.pid === 'number' && typeof o.hostname === 'string' ? o : undefined;
  } catch {
    return undefined;
  }
}

/** Is this lock left by a dead run? Only a lock from this machine can be judged by its pid. */
export function isStale(owner: LockOwner | undefined, here = hostname(), alive = pidAlive): boolean {
  if (!owner) return true; // torn or empty: the writer died between open and write
  return owner.hostname === here && !alive(owner.pid);
}

export async function acquireLocalLock(path: string, o: { command: string; runId: string }): Promise<LocalLock> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const owner: LockOwner = { pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString(), command: o.command, runId: o.runId };
  let tookOver: LockOwner | undefined;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      try {
        writeSync(fd, JSON.stringify(owner) + '\n');
      } finally {
        closeSync(fd);
      }
      return makeLock(path, owner, tookOver);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let text = '';
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw e;
    }
    const current = parseOwner(text);
    if (!isStale(current)) {
      const c = current as LockOwner;
      throw new PalisadeError('state.locked', `another palisade run holds ${path}: pid ${c.pid} on ${c.hostname} since ${c.startedAt} (${c.command})`, {
        hint: c.hostname === hostname() ? 'wait for it to finish, or stop it (Ctrl-C) first' : `that run is on another machine (${c.hostname}); wait for it, or remove the lock file once you are sure it is not running`,
      });
    }
    // Take the stale lock over: move it aside under a unique name (atomic; only one of two racing runs succeeds in moving *this* file), then retry O_EXCL.
    const aside = `${path}.stale.${process.pid}`;
    try {
      await rename(path, aside);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw e;
    }
    const moved = parseOwner(await readFile(aside, 'utf8').catch(() => ''));
    if (!isStale(moved) && moved) {
      // we moved a fresh lock another run took meanwhile: put it back and refuse
      await link(aside, path).catch(() => undefined);
      await unlink(aside).catch(() => undefined);
      throw new PalisadeError('state.locked', `another palisade run took ${path} just now (pid ${moved.pid} on ${moved.hostname})`, { hint: 'wait for it to finish' });
    }
    await unlink(aside).catch(() => undefined);
    tookOver = current;
  }
  throw new PalisadeError('state.locked', `could not take the lock ${path}`, { hint: 'another run is starting at the same time; try again' });
}

function makeLock(path: string, owner: LockOwner, tookOver: LockOwner | undefined): LocalLock {
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    process.off('exit', release);
    try {
      const cur = parseOwner(readFileSync(path, 'utf8'));
      if (cur && cur.pid === owner.pid && cur.runId === owner.runId) unlinkSync(path);
    } catch {
      /* already gone */
    }
  };
  process.on('exit', release);
  return { path, owner, tookOver, release };
}
