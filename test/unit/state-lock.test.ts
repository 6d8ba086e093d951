import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireLocalLock } from '../../installer/state/lock.ts';
import { acquireHostLocks, holderDead } from '../../installer/state/host-lock.ts';
import { LocalHost } from '../fixtures/local-host.ts';

const tmp = () => mkdtemp(join(tmpdir(), 'palisade-lock-'));
const deadPid = (): number => {
  const p = spawnSync('true');
  return p.pid ?? 999999;
};

describe('local lock', () => {
  it('refuses a second run while the first holds it, and frees it on release', async () => {
    const path = join(await tmp(), 'install.lock');
    const a = await acquireLocalLock(path, { command: 'install', runId: 'r1' });
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ pid: process.pid, runId: 'r1' });
    // same pid is alive: a second acquire is refused
    await expect(acquireLocalLock(path, { command: 'install', runId: 'r2' })).rejects.toThrow(/another palisade run holds/);
    a.release();
    expect(existsSync(path)).toBe(false);
    const b = await acquireLocalLock(path, { command: 'install', runId: 'r2' });
    b.release();
  });

  it('takes over a stale lock of a dead pid', async () => {
    const path = join(await tmp(), 'install.lock');
    const pid = deadPid();
    await writeFile(path, JSON.stringify({ pid, hostname: hostname(), startedAt: 'x', command: 'install', runId: 'old' }));
    const l = await acquireLocalLock(path, { command: 'install', runId: 'new' });
    expect(l.tookOver?.pid).toBe(pid);
    expect(JSON.parse(await readFile(path, 'utf8')).runId).toBe('new');
    l.release();
  });

  it('release does not remove a lock someone else holds now', async () => {
    const path = join(await tmp(), 'install.lock');
    const a = await acquireLocalLock(path, { command: 'install', runId: 'r1' });
    await writeFile(path, JSON.stringify({ pid: process.pid, hostname: hostname(), startedAt: 'x', command: 'install', runId: 'other' }));
    a.release();
    expect(existsSync(path)).toBe(true);
  });
});

describe('host lock (the real script, run locally)', () => {
  it('locks, refuses a second owner, releases', async () => {
    const path = join(await tmp(), 'etc', 'install.lock');
    const host = new LocalHost('h1');
    const a = await acquireHostLocks([host], { runId: 'run-a', path });
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ owner: 'run-a', admin: hostname() });
    await expect(acquireHostLocks([host], { runId: 'run-b', path })).rejects.toThrow(/h1 is being installed by another run/);
    // the same owner may take it again (re-entrant)
    const again = await acquireHostLocks([host], { runId: 'run-a', path });
    await again.release();
    expect(existsSync(path)).toBe(false);
    await a.release();
  });

  it('takes over a lock not touched for staleSeconds, and one whose local owner pid is dead', async () => {
    const path = join(await tmp(), 'install.lock');
    const host = new LocalHost('h1');
    await writeFile(path, JSON.stringify({ owner: 'old', pid: 1, admin: 'other-admin', startedAt: 'x' }) + '\n');
    const old = new Date(Date.now() - 3600_000);
    await utimes(path, old, old);
    const a = await acquireHostLocks([host], { runId: 'run-a', path, staleSeconds: 600 });
    expect(a.tookOver).toEqual([{ host: 'h1', previous: expect.objectContaining({ owner: 'old' }) }]);
    await a.release();

    await writeFile(path, JSON.stringify({ owner: 'dead', pid: deadPid(), admin: hostname(), startedAt: 'x' }) + '\n');
    const b = await acquireHostLocks([host], { runId: 'run-b', path });
    expect(b.tookOver[0]?.previous.owner).toBe('dead');
    await b.release();
  });

  it('a lock held elsewhere (fresh, other admin) is refused and locks already taken are released', async () => {
    const dir = await tmp();
    const busy = join(dir, 'busy.lock');
    const free = join(dir, 'free.lock');
    await writeFile(busy, JSON.stringify({ owner: 'x', pid: 1, admin: 'other-admin', startedAt: 'x' }) + '\n');
    // two "hosts" with different lock paths: wrap exec to rewrite the path
    const mk = (name: string, p: string) => {
      const h = new LocalHost(name);
      const exec = h.exec.bind(h);
      h.exec = (cmd, o) => exec(cmd.replace('L=__LOCK__', `L=${p}`), o);
      return h;
    };
    const hosts = [mk('h1', free), mk('h2', busy)];
    await expect(acquireHostLocks(hosts, { runId: 'run-a', path: '__LOCK__' })).rejects.toThrow(/h2 is being installed by another run: pid 1 on other-admin/);
    expect(existsSync(free)).toBe(false);
    expect(holderDead({ owner: 'x', pid: 1, admin: 'other-admin', startedAt: '' })).toBe(false);
  });
});
