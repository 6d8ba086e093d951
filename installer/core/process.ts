import { execa } from 'execa';

/**
 * The one way the installer starts a local process: an argument array, never
 * a shell line palisade builds; a timeout; and a minimal environment (PATH,
 * HOME, locale, temp dir and whatever the caller names), so no variable of
 * the operator's session, secrets above all, reaches the child. A non-zero
 * exit is a result, not an exception: callers decide what it means.
 */

/** What a child gets from our environment; nothing else passes. */
const PASSED = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TMPDIR'] as const;

export interface LocalRunOptions {
  /** kill the process after this long (default 60 s) */
  timeoutMs?: number;
  /** written to its stdin (secrets travel this way, never in argv or the environment) */
  input?: string | Buffer;
  /** variables to add for this child (must not be secrets) */
  env?: Record<string, string>;
  cwd?: string;
  /** cap on captured stdout/stderr, bytes (default 16 MiB) */
  maxBuffer?: number;
}

export interface LocalRunResult {
  /** exit code; undefined when the process did not start or was killed */
  code: number | undefined;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** why it failed to start or was stopped (ENOENT, a signal), for logs */
  failure?: string;
}

export function childEnvironment(extra: Record<string, string> = {}, from: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of PASSED) {
    const v = from[k];
    if (v !== undefined) env[k] = v;
  }
  return { ...env, ...extra };
}

export async function runLocal(file: string, args: readonly string[], o: LocalRunOptions = {}): Promise<LocalRunResult> {
  const r = await execa(file, args, {
    reject: false,
    shell: false,
    extendEnv: false,
    env: childEnvironment(o.env),
    timeout: o.timeoutMs ?? 60_000,
    maxBuffer: o.maxBuffer ?? 16 << 20,
    stripFinalNewline: false,
    ...(o.input !== undefined ? { input: o.input } : { stdin: 'ignore' as const }),
    ...(o.cwd ? { cwd: o.cwd } : {}),
  });
  const stdout = typeof r.stdout === 'string' ? r.stdout : '';
  const stderr = typeof r.stderr === 'string' ? r.stderr : '';
  const failure = r.failed
    ? r.timedOut
      ? `timed out after ${o.timeoutMs ?? 60_000} ms`
      : r.signal
        ? `killed by ${r.signal}`
        : r.exitCode === undefined
          ? r.shortMessage
          : undefined
    : undefined;
  return { code: r.exitCode, stdout, stderr, timedOut: r.timedOut, ...(failure ? { failure } : {}) };
}
