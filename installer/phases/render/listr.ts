import { Listr, type ListrTaskWrapper } from 'listr2';
import type { PhaseEvent, RunObserver, RunResult } from '../types.ts';

/**
 * On a terminal: a listr2 task tree that mirrors the run (one task per phase,
 * one subtask per host of a per-host phase). listr2 only draws here; the
 * runner decides what runs. Colours follow the terminal and NO_COLOR.
 */
type Wrapper = ListrTaskWrapper<unknown, never, never>;

interface Settle {
  status: PhaseEvent['status'];
  message?: string | undefined;
  error?: unknown;
}

class Deferred<T> {
  resolve!: (v: T) => void;
  settled = false;
  readonly promise = new Promise<T>((r) => {
    this.resolve = (v) => {
      this.settled = true;
      r(v);
    };
  });
}

interface StepView {
  wrapper?: Wrapper;
  pending?: string;
  end: Deferred<Settle>;
}

interface PhaseView extends StepView {
  title: string;
  perHost: boolean;
  /** the hosts of a per-host phase, when it begins; or its end, when it never fans out */
  begin: Deferred<readonly string[] | undefined>;
  hosts: Map<string, StepView>;
}

export function listrRenderer(): RunObserver {
  const phases = new Map<string, PhaseView>();
  let running: Promise<unknown> = Promise.resolve();
  const hostView = (p: PhaseView, h: string): StepView => {
    let v = p.hosts.get(h);
    if (!v) p.hosts.set(h, (v = { end: new Deferred() }));
    return v;
  };
  const show = (v: StepView, line: string) => {
    if (v.wrapper) v.wrapper.output = line;
    else v.pending = line;
  };
  const attach = (v: StepView, t: Wrapper) => {
    v.wrapper = t;
    if (v.pending) t.output = v.pending;
  };
  const finish = (t: Wrapper, s: Settle, title: string) => {
    if (s.status === 'skipped') t.skip(s.message === 'not selected' ? `${title} (not selected)` : (s.message ?? 'skipped'));
    if (s.status === 'failed' || s.status === 'interrupted') throw s.error instanceof Error ? s.error : new Error(s.message ?? s.status);
  };
  return {
    start(list) {
      for (const p of list) phases.set(p.id, { title: p.title, perHost: p.perHost, begin: new Deferred(), end: new Deferred(), hosts: new Map() });
      const tasks = list.map((p) => ({
        title: p.title,
        task: async (_: unknown, t: Wrapper) => {
          const v = phases.get(p.id)!;
          attach(v, t);
          const hosts = await v.begin.promise;
          if (hosts) {
            const sub = t.newListr(
              hosts.map((h) => ({
                title: h,
                task: async (_c: unknown, ht: Wrapper) => {
                  const hv = hostView(v, h);
                  attach(hv, ht);
                  const s = await hv.end.promise;
                  if (s.status === 'planned') ht.title = `${h}: ${s.message ? 'would run' : 'up to date'}`;
                  finish(ht, s, h);
                },
              })),
              { concurrent: true, exitOnError: false },
            );
            await sub.run().catch(() => undefined);
          }
          const s = await v.end.promise;
          if (s.status === 'planned') t.title = `${p.title}: ${s.message ? 'would run' : 'up to date'}`;
          finish(t, s, p.title);
        },
      }));
      const list2 = new Listr(tasks, {
        concurrent: false,
        exitOnError: true,
        registerSignalListeners: false,
        renderer: 'default',
        rendererOptions: { collapseSubtasks: false, collapseSkips: false },
      } as never);
      running = list2.run().catch(() => undefined);
    },
    hosts(phase, hosts) {
      const v = phases.get(phase);
      if (v && !v.begin.settled) v.begin.resolve(hosts);
    },
    event(e, error) {
      const v = phases.get(e.phase);
      if (!v) return;
      const s: Settle = { status: e.status, message: e.status === 'planned' ? (e.plan?.length ? e.plan.join('\n') : undefined) : e.message, error };
      if (e.host !== undefined && v.perHost) {
        const hv = hostView(v, e.host);
        if (e.status === 'running') return;
        if (s.status === 'planned' && s.message) show(hv, s.message);
        hv.end.resolve(s);
        return;
      }
      if (e.host !== undefined) {
        // a host's part of a phase that orders its hosts itself
        show(v, `${e.host}: ${e.status}${e.message ? ` (${e.message})` : ''}`);
        return;
      }
      if (e.status === 'running') return;
      if (s.status === 'planned' && s.message) show(v, s.message);
      if (!v.begin.settled) v.begin.resolve(undefined);
      v.end.resolve(s);
    },
    progress(phase, host, line) {
      const v = phases.get(phase);
      if (!v) return;
      const hv = host !== undefined ? v.hosts.get(host) : undefined;
      show(hv ?? v, hv || host === undefined ? line : `${host}: ${line}`);
    },
    async end(r: RunResult) {
      for (const [id, v] of phases) {
        const s: Settle = id === r.failed?.phase && !v.end.settled ? { status: 'failed', error: r.failed.error } : { status: 'skipped', message: 'not run' };
        for (const hv of v.hosts.values()) if (!hv.end.settled) hv.end.resolve({ status: 'skipped', message: 'not run' });
        if (!v.begin.settled) v.begin.resolve(undefined);
        if (!v.end.settled) v.end.resolve(s);
      }
      await running;
    },
  };
}
