/**
 * Errors are values: a stable code, a message for the operator, and a hint to fix it.
 * Anything that is the operator's mistake (bad input, unreachable host, refused
 * certificate) is a PalisadeError and is printed without a stack trace.
 */
export type ExitCode = 0 | 1 | 2 | 3 | 75 | 130;

export const EXIT = {
  ok: 0,
  /** a check or an operation failed */
  failure: 1,
  /** usage or configuration error */
  usage: 2,
  /** an internal error (a bug): printed with its stack */
  internal: 3,
  /** stopped cleanly because the next step does not fit in a maintenance window: run again in the next one (EX_TEMPFAIL) */
  window: 75,
  interrupted: 130,
} as const;

export interface ErrorDetail {
  /** where the problem is: a field path (`hosts[2].port`), a file, a host */
  path?: string;
  message: string;
  hint?: string;
}

export class PalisadeError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly exitCode: ExitCode;
  readonly details: ErrorDetail[];

  constructor(code: string, message: string, opts: { hint?: string; exitCode?: ExitCode; details?: ErrorDetail[]; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'PalisadeError';
    this.code = code;
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? EXIT.failure;
    this.details = opts.details ?? [];
  }
}

export function isPalisadeError(e: unknown): e is PalisadeError {
  return e instanceof PalisadeError;
}

/** Usage/config mistakes exit 2. */
export function usageError(code: string, message: string, hint?: string, details?: ErrorDetail[]): PalisadeError {
  return new PalisadeError(code, message, { hint, exitCode: EXIT.usage, details: details ?? [] });
}

/** Render an error for the operator: message, details, hint; never a stack for PalisadeError. */
export function formatError(e: unknown): string {
  if (isPalisadeError(e)) {
    const lines = [`error [${e.code}]: ${e.message}`];
    for (const d of e.details) {
      lines.push(`  - ${d.path ? `${d.path}: ` : ''}${d.message}${d.hint ? `\n      fix: ${d.hint}` : ''}`);
    }
    if (e.hint) lines.push(`hint: ${e.hint}`);
    return lines.join('\n');
  }
  const err = e instanceof Error ? e : new Error(String(e));
  return `internal error: ${err.message}\n${err.stack ?? ''}\nThis is a bug in palisade; please report it with the output above.`;
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
