/**
 * One encryption step on a host and how its failure reads: an error whose
 * code names the step, whose message names the host and ends with the last
 * lines the command printed. Shared by the apply steps and the pin checks.
 */
import type { RemoteHost } from '../hosts/types.ts';
import { PalisadeError, errorMessage } from '../core/errors.ts';
import { redact } from '../core/log.ts';

/** An unexpected failure on a host as a PalisadeError naming the host. */
export function asPalisadeError(e: unknown, host: string): PalisadeError {
  if (e instanceof PalisadeError) return e;
  return new PalisadeError('encryption.failed', `${host}: ${redact.apply(errorMessage(e))}`, { cause: e });
}

/** The last lines of a command's output worth showing an operator (redacted, without cryptsetup's token noise). */
export function lastLines(s: string, n = 3): string {
  return redact
    .apply(s)
    .trim()
    .split('\n')
    .filter((l) => l.trim() && !/No usable token is available/.test(l))
    .slice(-n)
    .join(' / ');
}

/** A command with sudo; a non-zero exit is a PalisadeError with `code` that names the host and what was being done. */
export async function run(host: RemoteHost, cmd: string, what: string, code: string, hint: string, stdin?: string): Promise<string> {
  const r = await host.exec(cmd, stdin === undefined ? { sudo: true } : { sudo: true, stdin });
  if (r.code !== 0) {
    throw new PalisadeError(code, `${host.name}: ${what} failed (exit ${r.code}): ${lastLines(r.stderr || r.stdout) || 'no output'}`, { hint });
  }
  return r.stdout;
}
