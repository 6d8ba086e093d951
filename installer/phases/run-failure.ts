import { EXIT, isPalisadeError, PalisadeError } from '../core/errors.ts';
import type { RunResult } from './types.ts';

/**
 * The error an operator sees when a run did not finish: an interruption says the run stopped
 * between steps and resumes; a PalisadeError from a step is shown as itself (it has its own
 * hint); anything else names the phase and host it came from. `what` is the command's name
 * (install, upgrade, restore), `hint` what to do next for that command.
 */
export function runFailure(what: string, r: RunResult, hint: string): PalisadeError {
  if (r.interrupted) {
    return new PalisadeError(`${what}.interrupted`, 'interrupted: stopped between steps; locks released. Run the same command again to resume', {
      exitCode: EXIT.interrupted,
    });
  }
  const e = r.failed?.error;
  if (isPalisadeError(e)) return e;
  const where = `${r.failed?.phase ?? '?'}${r.failed?.host ? ` on ${r.failed.host}` : ''}`;
  return new PalisadeError(`${what}.failed`, `${what} failed in phase ${where}: ${(e as Error)?.message ?? String(e)}`, { hint });
}
