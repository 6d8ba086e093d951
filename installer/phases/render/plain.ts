import type { PhaseEvent, ProgressKind, RunObserver } from '../types.ts';

/**
 * Without a terminal (a log file, CI): one line per step that starts, ends or
 * changes something, and progress lines at most every few seconds per step
 * (and only when they say something new) instead of one per update. No colour,
 * no cursor movement.
 */
export interface PlainOptions {
  write?: (line: string) => void;
  /** the shortest time between two progress lines of one step (default 3 s) */
  progressEveryMs?: number;
  now?: () => number;
}

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

export function plainRenderer(o: PlainOptions = {}): RunObserver {
  const write = o.write ?? ((l: string) => void process.stdout.write(l));
  const every = o.progressEveryMs ?? 3000;
  const now = o.now ?? (() => Date.now());
  const titles = new Map<string, string>();
  const last = new Map<string, { line: string; at: number }>();
  const line = (phase: string, host: string | undefined, text: string) => write(`[${phase}]${host ? ` ${host}:` : ''} ${text}\n`);
  return {
    start(phases) {
      for (const p of phases) titles.set(p.id, p.title);
    },
    hosts(phase, hosts) {
      line(phase, undefined, `${titles.get(phase) ?? phase} (${hosts.join(', ')})`);
    },
    event(e: PhaseEvent) {
      const key = `${e.phase}@${e.host ?? ''}`;
      switch (e.status) {
        case 'running':
          last.delete(key);
          return line(e.phase, e.host, e.host ? 'started' : (titles.get(e.phase) ?? e.phase));
        case 'done':
          return line(e.phase, e.host, `done in ${secs(e.durationMs)}`);
        case 'skipped':
          return line(e.phase, e.host, e.message === 'not selected' ? 'skipped (not selected)' : (e.message ?? 'skipped'));
        case 'failed':
          return line(e.phase, e.host, `FAILED: ${e.message ?? ''}`);
        case 'interrupted':
          return line(e.phase, e.host, 'interrupted');
        case 'planned':
          return line(e.phase, e.host, e.plan?.length ? `would: ${e.plan.join('; ')}` : 'up to date');
      }
    },
    progress(phase: string, host: string | undefined, text: string, kind: ProgressKind) {
      const key = `${phase}@${host ?? ''}`;
      const prev = last.get(key);
      if (kind === 'output' && prev && (prev.line === text || now() - prev.at < every)) return;
      last.set(key, { line: text, at: now() });
      line(phase, host, text);
    },
  };
}
