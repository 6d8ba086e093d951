import type { Journal } from '../state/journal.ts';
import type { RunObserver } from './types.ts';

/**
 * Keeps the journal as the runner reports steps: running, done (or "up to
 * date" for a step found already in place), failed with its message. The
 * runner awaits it, so the journal on disk always says where a killed run
 * stopped. Dry runs get no recorder: they never write the journal.
 */
export function journalRecorder(journal: Journal): RunObserver {
  return {
    async hosts(phase) {
      await journal.mark(phase, undefined, 'running');
    },
    async event(e) {
      const rec = e.host === undefined ? journal.phase(e.phase) : journal.host(e.phase, e.host);
      switch (e.status) {
        case 'running':
          return journal.mark(e.phase, e.host, 'running');
        case 'done':
          return journal.mark(e.phase, e.host, 'done');
        case 'skipped':
          if (e.message === 'up to date' && rec?.status !== 'done') await journal.mark(e.phase, e.host, 'done', { note: 'up to date' });
          return;
        case 'failed':
          return journal.mark(e.phase, e.host, 'failed', { error: e.message ?? 'failed' });
        case 'interrupted':
          return journal.mark(e.phase, e.host, 'failed', { error: e.host === undefined && e.message ? e.message : 'interrupted' });
        case 'planned':
          return;
      }
    },
  };
}
