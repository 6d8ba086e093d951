import { redact } from '../../core/log.ts';
import type { PhaseEvent, ProgressLine, RunObserver } from '../types.ts';

/**
 * `--output json`: one PhaseEvent per line (the documented shape, nothing
 * more), and each progress line under a step as `status: "progress"` (what a
 * script watching a long step can follow), secrets redacted.
 */
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
    progress(phase, host, line, kind) {
      const out: ProgressLine = { phase, ...(host !== undefined ? { host } : {}), status: 'progress', kind, message: line };
      write(redact.apply(JSON.stringify(out)) + '\n');
    },
  };
}
