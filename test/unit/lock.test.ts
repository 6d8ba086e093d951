import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';

// A writer that stalls while writing its lock: the first file opened after `stall.ms` is set writes that much later.
const stall = vi.hoisted(() => ({ ms: 0 }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const open: typeof real.open = async (...args: Parameters<typeof real.open>) => {
    const fh = await real.open(...args);
    if (!stall.ms) return fh;
    const ms = stall.ms;
    stall.ms = 0;
    return new Proxy(fh, {
      get(target, prop) {
        const v = Reflect.get(target, prop, target) as unknown;
        if (typeof v !== 'function') return v;
        const f = v as (...x: unknown[]) => unknown;
        if (prop !== 'writeFile' && prop !== 'write') return f.bind(target);
        return async (...a: unknown[]) => {
          await new Promise((r) => setTimeout(r, ms));
          return f.apply(target, a);
        };
      },
    });
  };
  return { ...real, default: { ...real, open }, open };
});

const { acquireFileLock, isStale, processStartTime } = await import('../../installer/core/lock.ts');

const tmp = () => mkdtemp(join(tmpdir(), 'palisade-lock-'));
const deadPid = (): number => spawnSync('true').pid ?? 999999;
const busy = () => new Error('held');

describe('file lock', () => {
  it('refuses a second holder while the first holds it, and frees it on release', async () => {
    const path = join(await tmp(), 'x.lock');
    const a = await acquireFileLock(path, { command: 'install', runId: 'r1', busy });
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ pid: process.pid, runId: 'r1', command: 'install' });
    await expect(acquireFileLock(path, { command: 'install', busy })).rejects.toThrow('held');
    a.release();
    expect(existsSync(path)).toBe(false);
    (await acquireFileLock(path, { command: 'install', busy })).release();
    expect(await readdir(join(path, '..'))).toEqual([]); // no temp files left behind
  });

  it('waits for a live holder up to waitMs', async () => {
    const path = join(await tmp(), 'x.lock');
    const first = await acquireFileLock(path, { command: 'a', busy });
    const order: string[] = [];
    const second = acquireFileLock(path, { command: 'b', waitMs: 3000, busy }).then((l) => {
      order.push('second');
      return l;
    });
    await new Promise((r) => setTimeout(r, 250));
    order.push('release');
    first.release();
    (await second).release();
    expect(order).toEqual(['release', 'second']);
  });

  it('takes over the lock of a dead pid, of a reused pid (other start time), and a damaged one', async () => {
    const path = join(await tmp(), 'x.lock');
    const dead = deadPid();
    await writeFile(path, JSON.stringify({ pid: dead, hostname: hostname(), startedAt: 'x', command: 'install', runId: 'old' }));
    const l = await acquireFileLock(path, { command: 'install', runId: 'new', busy });
    expect(l.tookOver?.pid).toBe(dead);
    expect(JSON.parse(await readFile(path, 'utf8')).runId).toBe('new');
    l.release();

    // our own pid, but recorded with another start time: the pid was reused, the owner is gone
    await writeFile(path, JSON.stringify({ pid: process.pid, hostname: hostname(), startedAt: 'x', command: 'install', runId: 'old', procStart: '1' }));
    const r = await acquireFileLock(path, { command: 'install', busy });
    expect(r.tookOver?.runId).toBe('old');
    r.release();

    await writeFile(path, '{"pid":');
    const d = await acquireFileLock(path, { command: 'install', busy });
    expect(d.tookOver).toBeUndefined();
    d.release();
  });

  it('does not judge a lock from another machine by its pid', () => {
    const o = { pid: 1, startedAt: '', command: '', runId: '' };
    expect(isStale({ ...o, hostname: 'elsewhere' }, 'here', () => false)).toBe(false);
    expect(isStale({ ...o, hostname: 'here' }, 'here', () => false)).toBe(true);
    expect(
      isStale(
        { ...o, hostname: 'here', procStart: '5' },
        'here',
        () => true,
        () => '5',
      ),
    ).toBe(false);
    expect(
      isStale(
        { ...o, hostname: 'here', procStart: '5' },
        'here',
        () => true,
        () => '6',
      ),
    ).toBe(true);
    expect(isStale(undefined)).toBe(true);
    expect(processStartTime(process.pid)).toMatch(/^\d+$/);
  });

  it('release does not remove a lock someone else holds now', async () => {
    const path = join(await tmp(), 'x.lock');
    const a = await acquireFileLock(path, { command: 'install', runId: 'r1', busy });
    await writeFile(path, JSON.stringify({ pid: process.pid, hostname: hostname(), startedAt: 'x', command: 'install', runId: 'other' }));
    a.release();
    expect(existsSync(path)).toBe(true);
  });

  it('a holder stalled while writing its lock never loses it to another taker (the lock appears complete)', async () => {
    const path = join(await tmp(), 'x.lock');
    let holders = 0;
    let most = 0;
    const hold = async (l: { release(): void }) => {
      most = Math.max(most, ++holders);
      await new Promise((r) => setTimeout(r, 1500));
      holders--;
      l.release();
    };
    stall.ms = 1500; // longer than any wait for an unreadable lock to count as stale
    const a = acquireFileLock(path, { command: 'a', waitMs: 8000, busy }).then(hold);
    await new Promise((r) => setTimeout(r, 50));
    const b = acquireFileLock(path, { command: 'b', waitMs: 8000, busy }).then(hold);
    await Promise.all([a, b]);
    expect(most).toBe(1);
  }, 15_000);
});
