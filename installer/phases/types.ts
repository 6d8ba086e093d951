import type { Journal, StepRecord } from '../state/journal.ts';

/**
 * A phase of install (or upgrade): a small object the orchestrator runs
 * without knowing what it does — the shape of k0sctl's phase.Phase.
 */
export interface PhaseTask {
  /** one line of progress under the task */
  output(line: string): void;
  /** a note kept in the journal and the report ("skipped: host cannot load br_netfilter") */
  note(line: string): void;
  /** aborted on Ctrl-C: long operations should pass it on */
  readonly signal: AbortSignal;
}

export interface ShouldRunInput {
  /** the host, for a per-host phase */
  host?: string;
  /** what the journal recorded last time (a hint; the real state decides) */
  journal: StepRecord | undefined;
}

export interface Phase<C> {
  /** short id for --from / --only and the journal */
  id: string;
  title: string;
  /**
   * Runs on every invocation, also outside --from/--only and under --dry-run
   * (it builds context later phases need: connections, facts, keys). Under
   * --dry-run it must not change anything.
   */
  always?: boolean;
  /** running it changes nothing (checks, reports): a run where only such phases ran is "up to date" */
  readOnly?: boolean;
  /** the hosts this phase works on, one subtask each (in parallel, up to the concurrency) */
  perHost?: (ctx: C) => string[];
  /** is there work? Checks the real state, not only the journal. */
  shouldRun(ctx: C, input: ShouldRunInput): Promise<boolean> | boolean;
  run(ctx: C, task: PhaseTask, host?: string): Promise<void>;
  /** what run() would do, for --dry-run */
  dryRun(ctx: C, host?: string): string[];
}

export type EventStatus = 'running' | 'done' | 'skipped' | 'failed' | 'interrupted' | 'planned';

/** One line of `--output json`. */
export interface PhaseEvent {
  phase: string;
  host?: string;
  status: EventStatus;
  durationMs: number;
  message?: string;
  /** for dry-run: what would happen */
  plan?: string[];
}

export interface RunOptions<C> {
  phases: ReadonlyArray<Phase<C>>;
  ctx: C;
  journal?: Journal;
  /** skip the phases before this one (they are taken as done) */
  from?: string;
  /** run this phase only (plus the `always` ones) */
  only?: string;
  dryRun?: boolean;
  /** per-host concurrency (default 10) */
  concurrency?: number;
  /** text: listr2 tree (simple renderer without a TTY or with CI set); json: one PhaseEvent per line on stdout; silent */
  output?: 'text' | 'json' | 'silent';
  /** where json events go (default stdout) */
  onEvent?: (e: PhaseEvent) => void;
  /** Ctrl-C: stop between steps */
  signal?: AbortSignal;
}

export interface RunResult {
  ok: boolean;
  /** phases (or phase@host) that did work */
  ran: string[];
  /** no changing phase had work to do */
  upToDate: boolean;
  interrupted: boolean;
  failed?: { phase: string; host?: string; error: unknown };
  /** dry-run plan lines per phase */
  plan: Array<{ phase: string; host?: string; lines: string[]; readOnly?: boolean }>;
  notes: Array<{ phase: string; host?: string; note: string }>;
  durationMs: number;
}
