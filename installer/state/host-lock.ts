import { hostname } from 'node:os';
import { PalisadeError, errorMessage } from '../core/errors.ts';
import { settleLimit } from '../core/limit.ts';
import { sh } from '../core/quote.ts';
import type { RemoteHost } from '../hosts/types.ts';
import { pidAlive } from '../core/lock.ts';

/**
 * A lock on each target host, so a second workstation cannot install onto the
 * same hosts at the same time. The lock is a file naming its owner (run id,
 * pid, admin machine); the holder touches it every minute (heartbeat). It is
 * stale when it has not been touched for `staleSeconds`, or when its owner ran
 * on this same admin machine and that pid is dead. Every check-and-write runs
 * under flock(1) on the host, so two takers of a stale lock cannot both win.
 */
export const HOST_LOCK_PATH = '/etc/palisade/install.lock';
export const DEFAULT_STALE_SECONDS = 600;

export interface HostLockOwner {
  owner: string;
  pid: number;
  admin: string;
  startedAt: string;
}

export type LockScriptResult =
  | { state: 'acquired'; previous?: HostLockOwner }
  | { state: 'held'; ageSeconds: number; holder: HostLockOwner | undefined }
  | { state: 'busy' };

/** The shell run on the host to take the lock (lock content arrives on stdin). `takeFrom` is a dead owner we may replace. */
export function acquireScript(path: string, owner: string, staleSeconds: number, takeFrom = ''): string {
  const dir = path.replace(/\/[^/]+$/, '') || '/';
  return [
    sh`L=${path}; ME=${owner}; TAKE=${takeFrom}; STALE=${staleSeconds}`,
    sh`mkdir -p ${dir} && chmod 0755 ${dir} || exit 1`,
    'exec 9>>"$L.guard"',
    'flock -w 15 9 || { echo BUSY; exit 0; }',
    'PREV=',
    'if [ -s "$L" ]; then',
    '  AGE=$(( $(date +%s) - $(stat -c %Y "$L") ))',
    `  CUR=$(sed -n 's/.*"owner":"\\([^"]*\\)".*/\\1/p' "$L")`,
    '  if [ "$CUR" != "$ME" ] && [ "$AGE" -lt "$STALE" ] && { [ -z "$TAKE" ] || [ "$CUR" != "$TAKE" ]; }; then printf "HELD %s %s\\n" "$AGE" "$(head -c 2000 "$L" | tr -d "\\n")"; exit 0; fi',
    '  [ "$CUR" = "$ME" ] || PREV=$(head -c 2000 "$L" | tr -d "\\n")',
    'fi',
    'umask 022; cat > "$L.tmp" && mv -f "$L.tmp" "$L" || exit 1',
    'printf "ACQUIRED %s\\n" "$PREV"',
  ].join('\n');
}

export function heartbeatScript(path: string, owner: string): string {
  return (
    sh`L=${path}; ME=${owner}` + '\n' + `exec 9>>"$L.guard"; flock -w 15 9 || exit 0; grep -q "\\"owner\\":\\"$ME\\"" "$L" 2>/dev/null && touch "$L"; true`
  );
}

export function releaseScript(path: string, owner: string): string {
  return (
    sh`L=${path}; ME=${owner}` + '\n' + `exec 9>>"$L.guard"; flock -w 15 9 || exit 0; grep -q "\\"owner\\":\\"$ME\\"" "$L" 2>/dev/null && rm -f "$L"; true`
  );
}

function parseHolder(text: string): HostLockOwner | undefined {
  try {
    const o = JSON.parse(text) as HostLockOwner;
    return typeof o.owner === 'string' ? o : undefined;
  } catch {
    return undefined;
  }
}

export function parseLockResult(stdout: string): LockScriptResult {
  const line = stdout.trim().split('\n').pop() ?? '';
  if (line.startsWith('ACQUIRED')) {
    const prev = parseHolder(line.slice('ACQUIRED'.length).trim());
    return prev ? { state: 'acquired', previous: prev } : { state: 'acquired' };
  }
  const m = /^HELD (\d+) ?(.*)$/.exec(line);
  if (m) return { state: 'held', ageSeconds: Number(m[1]), holder: parseHolder(m[2] ?? '') };
  if (line === 'BUSY') return { state: 'busy' };
  throw new Error(`unexpected answer from the lock script: ${line || '(nothing)'}`);
}

/** A holder we can prove dead: it ran on this admin machine and its pid is gone. */
export function holderDead(h: HostLockOwner | undefined, here = hostname(), alive = pidAlive): boolean {
  return !!h && h.admin === here && h.pid !== process.pid && !alive(h.pid);
}

export interface HostLocks {
  readonly owner: HostLockOwner;
  /** hosts whose stale lock was taken over, with the old owner */
  readonly tookOver: Array<{ host: string; previous: HostLockOwner }>;
  release(): Promise<void>;
}

export interface HostLockOptions {
  runId: string;
  path?: string;
  staleSeconds?: number;
  heartbeatMs?: number;
  concurrency?: number;
}

async function lockOne(
  host: RemoteHost,
  o: Required<Pick<HostLockOptions, 'path' | 'staleSeconds'>>,
  owner: HostLockOwner,
): Promise<HostLockOwner | undefined> {
  const body = JSON.stringify(owner) + '\n';
  let takeFrom = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const r = await host.exec(acquireScript(o.path, owner.owner, o.staleSeconds, takeFrom), { sudo: true, stdin: body });
    if (r.code !== 0)
      throw new PalisadeError(
        'state.host-lock',
        `${host.name}: cannot write the install lock ${o.path} (exit ${r.code}): ${r.stderr.trim().split('\n').pop() ?? ''}`,
      );
    const res = parseLockResult(r.stdout);
    if (res.state === 'acquired') return res.previous;
    if (res.state === 'held' && holderDead(res.holder) && takeFrom === '') {
      takeFrom = res.holder!.owner;
      continue;
    }
    if (res.state === 'held') {
      const h = res.holder;
      throw new PalisadeError(
        'state.host-locked',
        `${host.name} is being installed by another run: ${h ? `pid ${h.pid} on ${h.admin} since ${h.startedAt}` : 'unknown owner'} (lock touched ${res.ageSeconds} s ago)`,
        {
          hint: `wait for that run to finish; a lock not touched for ${Math.round(o.staleSeconds / 60)} minutes is taken over automatically`,
        },
      );
    }
  }
  throw new PalisadeError('state.host-lock', `${host.name}: the install lock stayed busy`, { hint: 'another run is taking it at the same moment; try again' });
}

/** Lock every host or none: when one host refuses, the locks already taken are released. */
export async function acquireHostLocks(hosts: readonly RemoteHost[], o: HostLockOptions): Promise<HostLocks> {
  const path = o.path ?? HOST_LOCK_PATH;
  const staleSeconds = o.staleSeconds ?? DEFAULT_STALE_SECONDS;
  const owner: HostLockOwner = { owner: o.runId, pid: process.pid, admin: hostname(), startedAt: new Date().toISOString() };
  const settled = await settleLimit(hosts, o.concurrency ?? 10, (h) => lockOne(h, { path, staleSeconds }, owner));
  const failures = settled.flatMap((r, i) => (r.status === 'rejected' ? [{ host: hosts[i]!, error: r.reason as unknown }] : []));
  const locked = hosts.filter((_, i) => settled[i]!.status === 'fulfilled');
  const releaseAll = async (list: readonly RemoteHost[]) => {
    await settleLimit(list, o.concurrency ?? 10, (h) => h.exec(releaseScript(path, owner.owner), { sudo: true }));
  };
  if (failures.length > 0) {
    await releaseAll(locked);
    if (failures.length === 1 && failures[0]!.error instanceof PalisadeError) throw failures[0]!.error;
    throw new PalisadeError('state.host-locked', `${failures.length} host(s) could not be locked; nothing was changed`, {
      details: failures.map((f) => ({ path: f.host.name, message: errorMessage(f.error) })),
    });
  }
  const tookOver = settled.flatMap((r, i) => (r.status === 'fulfilled' && r.value ? [{ host: hosts[i]!.name, previous: r.value }] : []));
  const timer = setInterval(() => {
    for (const h of hosts) void h.exec(heartbeatScript(path, owner.owner), { sudo: true }).catch(() => undefined);
  }, o.heartbeatMs ?? 60_000);
  timer.unref();
  let released = false;
  return {
    owner,
    tookOver,
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      await releaseAll(hosts);
    },
  };
}
