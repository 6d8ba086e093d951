/** Small synchronous system helpers for the lab script (no shell: argv arrays only). */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

export class LabError extends Error {
  constructor(
    message: string,
    /** 2 for a usage mistake, 1 otherwise */
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command; throws LabError with its stderr unless `check: false`. */
export function run(cmd: string, args: string[], opts: { check?: boolean; input?: string; timeoutMs?: number } = {}): RunResult {
  const r = spawnSync(cmd, args, { input: opts.input, encoding: 'utf8', timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 << 20 });
  const res = { code: r.status ?? (r.error ? 127 : 1), stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error.message) : '') };
  if (opts.check !== false && res.code !== 0) {
    throw new LabError(`${cmd} ${args.join(' ')} failed (exit ${res.code}): ${res.stderr.trim() || res.stdout.trim()}`);
  }
  return res;
}

/** Like `run` but never throws; true when the command succeeded. */
export function tryRun(cmd: string, args: string[], timeoutMs = 30_000): boolean {
  return run(cmd, args, { check: false, timeoutMs }).code === 0;
}

/** Starts a detached background process (own session) with stdout+stderr to `logFile`; returns its PID. */
export function startDetached(cmd: string, args: string[], logFile: string, env?: NodeJS.ProcessEnv): number {
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd], env: env ?? process.env });
    if (child.pid === undefined) throw new LabError(`cannot start ${cmd}`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/** The start time of a process (field 22 of /proc/PID/stat), so a recycled PID is never taken for ours. */
export function procStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields after "(comm)" start at field 3 (state); starttime is field 22
    return rest[22 - 3];
  } catch {
    return undefined;
  }
}

export function procAlive(pid: number, start: string): boolean {
  const s = procStart(pid);
  if (s === undefined || s !== start) return false;
  // a zombie is not alive
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export function writeAtomic(path: string, data: string, mode = 0o644): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data, { mode });
  renameSync(tmp, path);
}

export function readJson<T>(path: string): T | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** "2G", "512M", "1.5G", "1000000" → bytes (binary units, as truncate and losetup use them). */
export function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMGT]?)(i?B?)?$/i.exec(s.trim());
  if (!m) throw new LabError(`bad size "${s}": use a number with an optional K, M, G or T suffix, like 2G`);
  const mult = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G' | 'T'];
  const bytes = Math.floor(Number(m[1]) * mult);
  if (bytes < 1024 * 1024) throw new LabError(`size "${s}" is too small: a data disk needs at least 1M`);
  return bytes;
}
