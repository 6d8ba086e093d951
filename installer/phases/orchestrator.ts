import { Listr, type ListrTask, type ListrTaskWrapper } from 'listr2';
import { PalisadeError, errorMessage, EXIT } from '../core/errors.ts';
import { redact } from '../core/log.ts';
import type { Phase, PhaseEvent, PhaseTask, RunOptions, RunResult, EventStatus } from './types.ts';

/**
 * Turn a phase list into a listr2 task tree and run it: phases in order, the
 * hosts of a per-host phase in parallel (one subtask each), the journal updated
 * at every step. A failure marks the phase (and host) failed and stops after
 * the other hosts of that phase finish. Ctrl-C (the signal) stops between steps.
 * The orchestrator does not know what the phases do.
 */
export class Interrupted extends PalisadeError {
  constructor() {
    super('interrupted', 'interrupted: stopped between steps; run the same command again to resume', { exitCode: EXIT.interrupted });
  }
}

export function selectPhases<C>(phases: ReadonlyArray<Phase<C>>, o: { from?: string; only?: string }): Set<string> {
  const ids = phases.map((p) => p.id);
  for (const [flag, v] of [['--from', o.from], ['--only', o.only]] as const) {
    if (v !== undefined && !ids.includes(v)) {
      throw new PalisadeError('usage.phase', `${flag} ${v}: no such phase`, { exitCode: EXIT.usage, hint: `phases: ${ids.join(', ')}` });
    }
  }
  if (o.from && o.only) throw new PalisadeError('usage.phase', 'give --from or --only, not both', { exitCode: EXIT.usage });
  const sel = new Set<string>();
  const fromIdx = o.from ? ids.indexOf(o.from) : 0;
  phases.forEach((p, i) => {
    if (p.always || (o.only ? p.id === o.only : i >= fromIdx)) sel.add(p.id);
  });
  return sel;
}

function useFallback(): boolean {
  return !process.stdout.isTTY || !!process.env.CI;
}

export async function runPhases<C>(o: RunOptions<C>): Promise<RunResult> {
  const t0 = performance.now();
  const selected = selectPhases(o.phases, o);
  const output = o.output ?? 'text';
  const emit = (e: PhaseEvent): void => {
    if (o.onEvent) o.onEvent(e);
    else if (output === 'json') process.stdout.write(redact.apply(JSON.stringify(e)) + '\n');
  };
  const result: RunResult = { ok: true, ran: [], upToDate: true, interrupted: false, plan: [], notes: [], durationMs: 0 };
  const signal = o.signal ?? new AbortController().signal;
  const concurrency = o.concurrency ?? 10;
  const journal = o.journal;

  const checkAbort = (): void => {
    if (signal.aborted) throw new Interrupted();
  };

  const phaseTask = (t: ListrTaskWrapper<unknown, never, never> | undefined, phase: string, host: string | undefined): PhaseTask => ({
    output(line) {
      if (t) t.output = redact.apply(line);
    },
    note(line) {
      result.notes.push({ phase, ...(host ? { host } : {}), note: line });
      if (t) t.output = redact.apply(line);
    },
    signal,
  });

  /** One step (a phase, or one host of it): check, act, journal, event. Returns true when it did work. */
  const step = async (p: Phase<C>, host: string | undefined, t: ListrTaskWrapper<unknown, never, never>): Promise<void> => {
    const s0 = performance.now();
    const ev = (status: EventStatus, extra: Partial<PhaseEvent> = {}) =>
      emit({ phase: p.id, ...(host ? { host } : {}), status, durationMs: Math.round(performance.now() - s0), ...extra });
    const jrec = host === undefined ? journal?.phase(p.id) : journal?.host(p.id, host);
    checkAbort();
    if (o.dryRun && !p.always) {
      let lines: string[];
      try {
        lines = (await p.shouldRun(o.ctx, { ...(host ? { host } : {}), journal: jrec })) ? p.dryRun(o.ctx, host) : [];
      } catch (e) {
        lines = [...p.dryRun(o.ctx, host), `(state not checked: ${errorMessage(e)})`];
      }
      result.plan.push({ phase: p.id, ...(host ? { host } : {}), lines, ...(p.readOnly ? { readOnly: true } : {}) });
      t.title = `${host ?? p.title}: ${lines.length ? 'would run' : 'up to date'}`;
      if (lines.length) t.output = lines.join('\n');
      ev('planned', { plan: lines });
      return;
    }
    if (!(await p.shouldRun(o.ctx, { ...(host ? { host } : {}), journal: jrec }))) {
      if (jrec?.status !== 'done' && !o.dryRun) await journal?.mark(p.id, host, 'done', { note: 'up to date' });
      ev('skipped', { message: 'up to date' });
      t.skip('up to date');
      return;
    }
    if (!o.dryRun) await journal?.mark(p.id, host, 'running');
    ev('running', { durationMs: 0 });
    try {
      await p.run(o.ctx, phaseTask(t, p.id, host), host);
    } catch (e) {
      const interrupted = e instanceof Interrupted || signal.aborted;
      const msg = redact.apply(errorMessage(e));
      if (!o.dryRun) await journal?.mark(p.id, host, 'failed', { error: interrupted ? 'interrupted' : msg });
      ev(interrupted ? 'interrupted' : 'failed', { message: msg });
      throw interrupted ? new Interrupted() : e;
    }
    if (!p.always || !o.dryRun) {
      if (!o.dryRun) await journal?.mark(p.id, host, 'done');
      result.ran.push(host ? `${p.id}@${host}` : p.id);
      if (!p.readOnly && !p.always) result.upToDate = false;
    }
    ev('done');
  };

  const tasks: ListrTask[] = o.phases.map((p) => ({
    title: p.title,
    task: async (_ctx: unknown, t: ListrTaskWrapper<unknown, never, never>) => {
      if (!selected.has(p.id)) {
        emit({ phase: p.id, status: 'skipped', durationMs: 0, message: 'not selected' });
        t.skip(`${p.title} (not selected)`);
        return;
      }
      if (!p.perHost) {
        try {
          await step(p, undefined, t);
        } catch (e) {
          recordFailure(p.id, undefined, e);
          throw e;
        }
        return;
      }
      checkAbort();
      const hosts = p.perHost(o.ctx);
      const p0 = performance.now();
      if (!o.dryRun) await journal?.mark(p.id, undefined, 'running');
      const failures: Array<{ host: string; error: unknown }> = [];
      const sub = t.newListr(
        hosts.map((h) => ({
          title: h,
          task: async (_c: unknown, ht: ListrTaskWrapper<unknown, never, never>) => {
            try {
              await step(p, h, ht);
            } catch (e) {
              failures.push({ host: h, error: e });
              throw e;
            }
          },
        })),
        { concurrent: concurrency, exitOnError: false },
      );
      await sub.run();
      const dur = Math.round(performance.now() - p0);
      if (failures.length > 0) {
        const interrupted = failures.every((f) => f.error instanceof Interrupted);
        const first = failures[0]!;
        if (!o.dryRun) await journal?.mark(p.id, undefined, 'failed', { error: failures.map((f) => `${f.host}: ${redact.apply(errorMessage(f.error))}`).join('; ') });
        emit({ phase: p.id, status: interrupted ? 'interrupted' : 'failed', durationMs: dur });
        recordFailure(p.id, first.host, interrupted ? new Interrupted() : failures.length === 1 ? first.error : combine(p, failures));
        throw result.failed!.error;
      }
      if (!o.dryRun) await journal?.mark(p.id, undefined, 'done');
      emit({ phase: p.id, status: 'done', durationMs: dur });
    },
  }));

  function recordFailure(phase: string, host: string | undefined, error: unknown): void {
    result.ok = false;
    if (error instanceof Interrupted || signal.aborted) result.interrupted = true;
    result.failed ??= { phase, ...(host ? { host } : {}), error: result.interrupted ? new Interrupted() : error };
  }

  const renderer = output === 'text' ? 'default' : 'silent';
  const list = new Listr(tasks, {
    concurrent: false,
    exitOnError: true,
    registerSignalListeners: false,
    renderer,
    fallbackRenderer: 'simple',
    fallbackRendererCondition: useFallback,
    silentRendererCondition: output !== 'text',
    rendererOptions: { collapseSubtasks: false, collapseSkips: false },
    fallbackRendererOptions: { timer: undefined },
  } as never);
  try {
    await list.run();
  } catch (e) {
    if (!result.failed) recordFailure('?', undefined, e);
  }
  result.durationMs = Math.round(performance.now() - t0);
  return result;
}

function combine<C>(p: Phase<C>, failures: Array<{ host: string; error: unknown }>): PalisadeError {
  return new PalisadeError(`phase.${p.id}`, `${p.title}: failed on ${failures.length} host(s)`, {
    details: failures.map((f) => ({ path: f.host, message: redact.apply(errorMessage(f.error)), ...(f.error instanceof PalisadeError && f.error.hint ? { hint: f.error.hint } : {}) })),
  });
}
