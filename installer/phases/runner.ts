import { PalisadeError, errorMessage, EXIT } from '../core/errors.ts';
import { mapLimit } from '../core/limit.ts';
import { redact } from '../core/log.ts';
import type { StepRecord } from '../state/journal.ts';
import { OutputStore } from './outputs.ts';
import type { HostOutput, Output, Phase, PhaseEvent, PhaseTask, ProgressKind, RunObserver, RunResult, ShouldRunInput } from './types.ts';

/**
 * The step runner: phases in order, the hosts of a per-host phase in parallel
 * (up to the concurrency), Ctrl-C (the signal) honoured between steps. A
 * failure marks the step failed and stops the run once the other hosts of that
 * phase have finished. In a dry run the same phases run, but every change goes
 * to the plan instead of the host (types.ts). It keeps nothing and prints
 * nothing itself: observers (the journal recorder, the renderers) see each step.
 */
export class Interrupted extends PalisadeError {
  constructor() {
    super('interrupted', 'interrupted: stopped between steps; run the same command again to resume', { exitCode: EXIT.interrupted });
  }
}

/** Read access to what the journal recorded (shouldRun's hint). */
export interface JournalView {
  phase(id: string): StepRecord | undefined;
  host(id: string, host: string): StepRecord | undefined;
}

export interface RunOptions<C> {
  phases: ReadonlyArray<Phase<C>>;
  ctx: C;
  journal?: JournalView;
  /** skip the phases before this one (they are taken as done) */
  from?: string;
  /** run this phase only (plus the `always` ones) */
  only?: string;
  dryRun?: boolean;
  /** per-host concurrency (default 10) */
  concurrency?: number;
  observers?: readonly RunObserver[];
  /** Ctrl-C: stop between steps */
  signal?: AbortSignal;
  /** values known before the run (tests; a caller that already holds them) */
  outputs?: OutputStore;
}

/** The phase ids --from/--only take, checked before anything else happens. */
/** --from/--only name phases of the list, and not both (usage errors, before anything is asked or done). */
export function checkPhaseFlags(ids: readonly string[], o: { from?: string | undefined; only?: string | undefined }): void {
  for (const [flag, v] of [
    ['--from', o.from],
    ['--only', o.only],
  ] as const) {
    if (v !== undefined && !ids.includes(v)) {
      throw new PalisadeError('usage.phase', `${flag} ${v}: no such phase`, { exitCode: EXIT.usage, hint: `phases: ${ids.join(', ')}` });
    }
  }
  if (o.from && o.only) throw new PalisadeError('usage.phase', 'give --from or --only, not both', { exitCode: EXIT.usage });
}

export function selectPhases<C>(phases: ReadonlyArray<Phase<C>>, o: { from?: string | undefined; only?: string | undefined }): Set<string> {
  const ids = phases.map((p) => p.id);
  checkPhaseFlags(ids, o);
  const sel = new Set<string>();
  const fromIdx = o.from ? ids.indexOf(o.from) : 0;
  phases.forEach((p, i) => {
    if (p.always || (o.only ? p.id === o.only : i >= fromIdx)) sel.add(p.id);
  });
  return sel;
}

class StepFailed extends Error {}

export async function runPhases<C>(o: RunOptions<C>): Promise<RunResult> {
  const t0 = performance.now();
  const selected = selectPhases(o.phases, o);
  const outputs = o.outputs ?? new OutputStore();
  for (const p of o.phases) if (p.provides) outputs.declare(p.id, p.provides);
  const observers = o.observers ?? [];
  const signal = o.signal ?? new AbortController().signal;
  const concurrency = o.concurrency ?? 10;
  const result: RunResult = { ok: true, ran: [], upToDate: true, interrupted: false, plan: [], notes: [], outputs, durationMs: 0 };
  const touched: Phase<C>[] = [];

  const notify = async (e: PhaseEvent, error?: unknown): Promise<void> => {
    for (const ob of observers) await ob.event(e, error);
  };
  const progress = (phase: string, host: string | undefined, line: string, kind: ProgressKind = 'output'): void => {
    const l = redact.apply(line);
    for (const ob of observers) ob.progress?.(phase, host, l, kind);
  };
  const checkAbort = (): void => {
    if (signal.aborted) throw new Interrupted();
  };
  const provider =
    (p: Phase<C>, host: string | undefined) =>
    <T>(out: Output<T> | HostOutput<T>, value: T): void => {
      if (!p.provides?.some((x) => x.name === out.name)) throw new Error(`phase ${p.id} provides ${out.name} without declaring it`);
      outputs.set(out, value, host);
    };

  const taskFor = (p: Phase<C>, host: string | undefined, plan: string[] | undefined): PhaseTask => ({
    outputs,
    provide: provider(p, host),
    signal,
    output: (line) => progress(p.id, host, line),
    note(line) {
      result.notes.push({ phase: p.id, ...(host ? { host } : {}), note: line });
      progress(p.id, host, line, 'note');
    },
    notes: () => result.notes,
    async change(target, what, fn) {
      if (plan) {
        plan.push(target && target !== host ? `${target}: ${what}` : what);
        return undefined;
      }
      progress(p.id, host, target && target !== host ? `${target}: ${what}` : what, 'change');
      return fn();
    },
    async forHost(h, fn) {
      if (plan) return fn();
      const s0 = performance.now();
      const ms = () => Math.round(performance.now() - s0);
      await notify({ phase: p.id, host: h, status: 'running', durationMs: 0 });
      try {
        const v = await fn();
        await notify({ phase: p.id, host: h, status: 'done', durationMs: ms() });
        return v;
      } catch (e) {
        await notify({ phase: p.id, host: h, status: signal.aborted ? 'interrupted' : 'failed', durationMs: ms(), message: redact.apply(errorMessage(e)) }, e);
        throw e;
      }
    },
  });

  /** A dry run of one step: check, then run with changes going to the plan. */
  const plan = async (p: Phase<C>, host: string | undefined, input: ShouldRunInput): Promise<void> => {
    const s0 = performance.now();
    const lines: string[] = [];
    const after: string[] = [];
    let work: boolean;
    try {
      work = await p.shouldRun(o.ctx, input);
    } catch (e) {
      work = true;
      after.push(`(state not checked: ${redact.apply(errorMessage(e))})`);
    }
    if (work && p.readOnly && !p.always) lines.push(p.title);
    else if (work) {
      try {
        await p.run(o.ctx, taskFor(p, host, lines), host);
      } catch (e) {
        if (p.always) throw e;
        after.push(`(plan incomplete: ${redact.apply(errorMessage(e))})`);
      }
    }
    const all = [...lines, ...after];
    if (p.always && all.length === 0) return;
    result.plan.push({ phase: p.id, ...(host ? { host } : {}), lines: all, ...(p.readOnly ? { readOnly: true } : {}) });
    await notify({ phase: p.id, ...(host ? { host } : {}), status: 'planned', durationMs: Math.round(performance.now() - s0), plan: all });
  };

  /** One step (a phase, or one host of it): check, act, tell the observers. */
  const step = async (p: Phase<C>, host: string | undefined): Promise<void> => {
    checkAbort();
    const s0 = performance.now();
    const ev = (status: PhaseEvent['status'], extra: Partial<PhaseEvent> = {}, error?: unknown) =>
      notify({ phase: p.id, ...(host ? { host } : {}), status, durationMs: Math.round(performance.now() - s0), ...extra }, error);
    const journal = host === undefined ? o.journal?.phase(p.id) : o.journal?.host(p.id, host);
    const input: ShouldRunInput = { ...(host ? { host } : {}), journal, outputs, provide: provider(p, host) };
    if (o.dryRun && !p.always) return plan(p, host, input);
    if (o.dryRun) {
      // an `always` phase runs in a dry run too: its checks are real, its changes are planned
      await ev('running', { durationMs: 0 });
      try {
        await plan(p, host, input);
      } catch (e) {
        await ev(signal.aborted ? 'interrupted' : 'failed', { message: redact.apply(errorMessage(e)) }, e);
        throw signal.aborted ? new Interrupted() : e;
      }
      result.ran.push(host ? `${p.id}@${host}` : p.id);
      return ev('done');
    }
    if (!(await p.shouldRun(o.ctx, input))) return ev('skipped', { message: 'up to date' });
    await ev('running', { durationMs: 0 });
    try {
      await p.run(o.ctx, taskFor(p, host, undefined), host);
    } catch (e) {
      const interrupted = e instanceof Interrupted || signal.aborted;
      await ev(interrupted ? 'interrupted' : 'failed', { message: redact.apply(errorMessage(e)) }, e);
      throw interrupted ? new Interrupted() : e;
    }
    result.ran.push(host ? `${p.id}@${host}` : p.id);
    if (!p.readOnly && !p.always) result.upToDate = false;
    await ev('done');
  };

  const fanOut = async (p: Phase<C>, hosts: string[]): Promise<void> => {
    checkAbort();
    const p0 = performance.now();
    for (const ob of observers) await ob.hosts?.(p.id, hosts);
    const failures: Array<{ host: string; error: unknown }> = [];
    await mapLimit(hosts, concurrency, async (h) => {
      try {
        await step(p, h);
      } catch (e) {
        failures.push({ host: h, error: e });
      }
    });
    const durationMs = Math.round(performance.now() - p0);
    if (failures.length === 0) return notify({ phase: p.id, status: 'done', durationMs });
    failures.sort((a, b) => hosts.indexOf(a.host) - hosts.indexOf(b.host));
    const interrupted = failures.every((f) => f.error instanceof Interrupted);
    const first = failures[0]!;
    const message = failures.map((f) => `${f.host}: ${redact.apply(errorMessage(f.error))}`).join('; ');
    const error = interrupted ? new Interrupted() : failures.length === 1 ? first.error : combine(p, failures);
    await notify({ phase: p.id, status: interrupted ? 'interrupted' : 'failed', durationMs, message }, error);
    recordFailure(p.id, first.host, error);
    throw new StepFailed();
  };

  function recordFailure(phase: string, host: string | undefined, error: unknown): void {
    result.ok = false;
    if (error instanceof Interrupted || signal.aborted) result.interrupted = true;
    result.failed ??= { phase, ...(host ? { host } : {}), error: result.interrupted ? new Interrupted() : error };
  }

  for (const ob of observers) await ob.start?.(o.phases.map((p) => ({ id: p.id, title: p.title, selected: selected.has(p.id), perHost: !!p.perHost })));
  let current = '?';
  try {
    for (const p of o.phases) {
      current = p.id;
      if (!selected.has(p.id)) {
        await notify({ phase: p.id, status: 'skipped', durationMs: 0, message: 'not selected' });
        continue;
      }
      touched.push(p);
      if (p.perHost) await fanOut(p, p.perHost(o.ctx));
      else await step(p, undefined);
    }
  } catch (e) {
    if (!(e instanceof StepFailed)) recordFailure(current, undefined, e);
  } finally {
    for (const p of touched.reverse()) await p.cleanup?.(o.ctx, outputs).catch(() => undefined);
  }
  result.durationMs = Math.round(performance.now() - t0);
  for (const ob of observers) await ob.end?.(result);
  return result;
}

function combine<C>(p: Phase<C>, failures: Array<{ host: string; error: unknown }>): PalisadeError {
  return new PalisadeError(`phase.${p.id}`, `${p.title}: failed on ${failures.length} host(s)`, {
    details: failures.map((f) => ({
      path: f.host,
      message: redact.apply(errorMessage(f.error)),
      ...(f.error instanceof PalisadeError && f.error.hint ? { hint: f.error.hint } : {}),
    })),
  });
}
