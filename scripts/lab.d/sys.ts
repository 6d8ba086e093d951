/**
 * The lab script's small system helpers: its shell steps on zx (captured output, a time limit on
 * every command, a failure reported with the command), background processes, /proc reads, files.
 */
import { closeSync, existsSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { $, type Duration, ProcessOutput } from 'zx';

export class LabError extends Error {
  constructor(
    message: string,
    /** 2 for a usage mistake, 1 otherwise */
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

const t0 = Date.now();
export const say = (s: string) => process.stderr.write(`lab: ${s}\n`);
export const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

export type Shell = (pieces: TemplateStringsArray, ...args: unknown[]) => Promise<ProcessOutput>;

/**
 * zx's `$` as the lab uses it: output captured (never echoed), a time limit on every command (2 min
 * unless given: zx's sync mode would ignore it, so every step is awaited), and a failed command
 * thrown as a LabError naming it and what it printed. With `nothrow`, a failed command's output is
 * returned instead (`.ok`, `.exitCode`).
 */
export function shell(opts: { timeout?: Duration; nothrow?: boolean } = {}): Shell {
  const timeout = opts.timeout ?? '2m';
  const z = $({ quiet: true, timeout, nothrow: opts.nothrow === true });
  return async (pieces, ...args) => {
    const p = z(pieces, ...args);
    try {
      return await p;
    } catch (e) {
      if (!(e instanceof ProcessOutput)) throw e;
      const how = e.exitCode === null ? `stopped by ${e.signal ?? 'a signal'}; time limit ${timeout}` : `exit ${e.exitCode}`;
      throw new LabError(`${p.cmd} failed (${how}): ${e.stderr.trim() || e.stdout.trim()}`);
    }
  };
}

/** A step that must succeed. */
export const sh = shell();
/** A step whose failure is an answer (teardown of what may be gone already, probes): 30 s at most. */
export const probe = shell({ nothrow: true, timeout: '30s' });

/** Starts a detached background program (own session) with stdout+stderr to `logFile`; returns its PID. */
export function startDetached(argv: string[], logFile: string): number {
  const fd = openSync(logFile, 'a');
  try {
    // `exec`: the PID recorded (and later stopped) is the program's own, not a shell's
    const p = $({ detached: true, nothrow: true, quiet: true, stdio: ['ignore', fd, fd] })`exec ${argv}`;
    if (p.pid === undefined) throw new LabError(`cannot start ${argv[0]}`);
    p.child?.unref();
    return p.pid;
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
