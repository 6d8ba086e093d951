import { redact } from '../../core/log.ts';
import type { PhaseEvent, RunObserver } from '../types.ts';

/** `--output json`: one PhaseEvent per line (the documented shape, nothing more), secrets redacted. */
export function jsonRenderer(write: (line: string) => void = (l) => void process.stdout.write(l)): RunObserver {
  return {
    event(e) {
      const out: PhaseEvent = {
        phase: e.phase,
        ...(e.host !== undefined ? { host: e.host } : {}),
        status: e.status,
        durationMs: e.durationMs,
        ...(e.message !== undefined ? { message: e.message } : {}),
        ...(e.plan !== undefined ? { plan: e.plan } : {}),
      };
      write(redact.apply(JSON.stringify(out)) + '\n');
    },
  };
}
