import type { StepRecord } from '../state/journal.ts';

/**
 * The phase contract: what install, upgrade and restore phases are, and what
 * the runner (runner.ts) gives them. The runner does not know what a phase does.
 *
 * - A phase is an object in its own file: an id (for --from/--only and the
 *   journal), a title, `shouldRun` (look at the real state, read-only: is there
 *   work?) and `run` (do it). `perHost` makes it one step per host, run in
 *   parallel up to the concurrency; `always` runs it on every invocation (it
 *   gives later phases what they need: the bundle, the connections);
 *   `readOnly` says it changes nothing (checks, reports); `cleanup` runs after
 *   the whole run, however it ended, for every phase that ran (close what it opened).
 * - Every change a phase makes (to a host, or to local state) goes through
 *   `task.change(host, "what", fn)`. In a dry run it records the sentence and
 *   skips fn, so the plan comes from the same code as the run. Phases never ask
 *   whether this is a dry run.
 * - Phases hand results to later phases only through declared outputs:
 *   `provides: [SOME_OUTPUT]` on the phase, `provide(SOME_OUTPUT, value)` from
 *   shouldRun or run, `outputs.get(SOME_OUTPUT)` (typed) in a later phase, or
 *   `outputs.maybe(...)` when the provider may not have run (--from, --only).
 *   A phase may provide only what it declares. The context (C) is the run's
 *   input (config, paths, driver, services) and is never written by a phase.
 * - Code several phases share (keys, registry and cluster access) lives in
 *   named modules beside the phases, never in a phase file.
 */

/** A typed value one phase provides and later phases read. */
export interface Output<T> {
  readonly name: string;
  readonly perHost: false;
  /** type carrier only */
  readonly _type?: T;
}

/** A typed value a per-host phase provides for each of its hosts. */
export interface HostOutput<T> {
  readonly name: string;
  readonly perHost: true;
  readonly _type?: T;
}

export const output = <T>(name: string): Output<T> => ({ name, perHost: false });
export const hostOutput = <T>(name: string): HostOutput<T> => ({ name, perHost: true });

/** What earlier phases provided. */
export interface Outputs {
  /** the value, or an error naming the phase that should have provided it */
  get<T>(o: Output<T>): T;
  maybe<T>(o: Output<T>): T | undefined;
  /** every host's value of a per-host output (empty when none ran) */
  ofHosts<T>(o: HostOutput<T>): ReadonlyMap<string, T>;
}

export interface ProvideOutputs {
  /** set a declared output; for a HostOutput, the value of the current host */
  provide<T>(o: Output<T> | HostOutput<T>, value: T): void;
}

export interface Note {
  phase: string;
  host?: string;
  note: string;
}

export interface ShouldRunInput extends ProvideOutputs {
  /** the host, for a per-host phase */
  host?: string;
  /** what the journal recorded last time (a hint; the real state decides) */
  journal: StepRecord | undefined;
  outputs: Outputs;
}

export interface PhaseTask extends ProvideOutputs {
  readonly outputs: Outputs;
  /** one line of progress under the task */
  output(line: string): void;
  /** a note kept in the journal and the report ("skipped: host cannot load br_netfilter") */
  note(line: string): void;
  /** the notes of this run so far (for the report) */
  notes(): readonly Note[];
  /**
   * Make one change: to `host` (a name), or to the phase's whole target when
   * undefined. `what` is the sentence a dry run prints ("start k3s on host1").
   * In a dry run fn is not called and the result is undefined.
   */
  change<T>(host: string | undefined, what: string, fn: () => Promise<T>): Promise<T | undefined>;
  /**
   * One host's part of a phase that orders its hosts itself (the cluster: first
   * controller, then the others): journaled and reported as that host's step.
   */
  forHost<T>(host: string, fn: () => Promise<T>): Promise<T>;
  /** aborted on Ctrl-C: long operations should pass it on */
  readonly signal: AbortSignal;
}

export interface Phase<C> {
  /** short id for --from / --only and the journal */
  id: string;
  title: string;
  /** runs on every invocation, also outside --from/--only and in a dry run (changes still go through task.change) */
  always?: boolean;
  /** running it changes nothing (checks, reports): a run where only such phases ran is "up to date"; a dry run lists it without running it */
  readOnly?: boolean;
  /** the hosts this phase works on, one step each (in parallel, up to the concurrency) */
  perHost?: (ctx: C) => string[];
  /** the outputs this phase may provide */
  provides?: ReadonlyArray<Output<unknown> | HostOutput<unknown>>;
  /** is there work? Checks the real state (read-only), not only the journal. */
  shouldRun(ctx: C, input: ShouldRunInput): Promise<boolean> | boolean;
  run(ctx: C, task: PhaseTask, host?: string): Promise<void>;
  /** after the run, however it ended, when this phase ran or was checked (release, close) */
  cleanup?(ctx: C, outputs: Outputs): Promise<void>;
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

export type ProgressKind = 'output' | 'note' | 'change';

/** A progress line under a step in `--output json` (not a status change: the journal never sees it). */
export interface ProgressLine {
  phase: string;
  host?: string;
  status: 'progress';
  kind: ProgressKind;
  message: string;
}

export interface PlanEntry {
  phase: string;
  host?: string;
  lines: string[];
  readOnly?: boolean;
}

export interface RunResult {
  ok: boolean;
  /** phases (or phase@host) that did work */
  ran: string[];
  /** no changing phase had work to do */
  upToDate: boolean;
  interrupted: boolean;
  failed?: { phase: string; host?: string; error: unknown };
  /** dry-run plan lines per step */
  plan: PlanEntry[];
  notes: Note[];
  /** what the phases provided (the run's products, for the caller) */
  outputs: Outputs;
  durationMs: number;
}

/**
 * Who watches a run: the journal recorder and the renderers (listr2, plain
 * lines, JSON events). The runner awaits each call, so a journal entry is on
 * disk before the step it records goes on.
 */
export interface RunObserver {
  /** before the first phase: every phase, in order, and whether this run selected it */
  start?(phases: ReadonlyArray<{ id: string; title: string; selected: boolean; perHost: boolean }>): void | Promise<void>;
  /** a per-host phase begins on these hosts */
  hosts?(phase: string, hosts: readonly string[]): void | Promise<void>;
  /** a step (a phase, or one host of it) changed status; `error` when it failed */
  event(e: PhaseEvent, error?: unknown): void | Promise<void>;
  /** a line under a step: progress (output), a note, or the change it is making */
  progress?(phase: string, host: string | undefined, line: string, kind: ProgressKind): void;
  end?(r: RunResult): void | Promise<void>;
}
