import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { journalRecorder } from '../../installer/phases/journal-recorder.ts';
import { jsonRenderer } from '../../installer/phases/render/json.ts';
import { runPhases as run, selectPhases, Interrupted, type RunOptions } from '../../installer/phases/runner.ts';
import type { Phase, PhaseEvent } from '../../installer/phases/types.ts';
import { Journal } from '../../installer/state/journal.ts';

/** The runner with what the install command attaches: the journal recorder (not in a dry run) and an event sink. */
const runPhases = <C>(
  o: Omit<RunOptions<C>, 'journal' | 'observers'> & {
    journal?: Journal;
    onEvent?: (e: PhaseEvent) => void;
    output?: 'silent' | 'json';
    write?: (l: string) => void;
  },
) =>
  run({
    ...o,
    observers: [
      ...(o.journal && !o.dryRun ? [journalRecorder(o.journal)] : []),
      ...(o.onEvent ? [{ event: o.onEvent }] : []),
      ...(o.output === 'json' ? [jsonRenderer(o.write)] : []),
    ],
  });

interface Ctx {
  log: string[];
  /** real state: which steps are in place */
  state: Set<string>;
  hosts: string[];
  failOn?: string;
  dry?: boolean;
}

/** A fake phase whose real state lives in ctx.state. */
function fake(id: string, o: Partial<Phase<Ctx>> & { perHostOn?: boolean } = {}): Phase<Ctx> {
  const key = (h?: string) => (h ? `${id}@${h}` : id);
  return {
    id,
    title: `Phase ${id}`,
    ...(o.perHostOn ? { perHost: (c: Ctx) => c.hosts } : {}),
    shouldRun: (c, i) => !c.state.has(key(i.host)),
    async run(c, task, host) {
      c.log.push(key(host));
      if (c.failOn === key(host)) throw new Error(`${key(host)} broke`);
      task.output('working');
      await task.change(host, `do ${key(host)}`, async () => c.state.add(key(host)));
    },
    ...o,
  };
}

const ctx = (over: Partial<Ctx> = {}): Ctx => ({ log: [], state: new Set(), hosts: ['h1', 'h2'], ...over });
const journal = async () => Journal.open(join(await mkdtemp(join(tmpdir(), 'palisade-orch-')), 'journal.json'), 'c1');

describe('orchestrator', () => {
  const phases = [fake('a'), fake('b', { perHostOn: true }), fake('c')];

  it('runs phases in order, hosts of a per-host phase each once, and journals them', async () => {
    const c = ctx();
    const j = await journal();
    const events: PhaseEvent[] = [];
    const r = await runPhases({ phases, ctx: c, journal: j, output: 'silent', onEvent: (e) => events.push(e) });
    expect(r.ok).toBe(true);
    expect(c.log[0]).toBe('a');
    expect(c.log.slice(1, 3).sort()).toEqual(['b@h1', 'b@h2']);
    expect(c.log[3]).toBe('c');
    expect(r.upToDate).toBe(false);
    expect(j.phase('b')?.status).toBe('done');
    expect(j.host('b', 'h2')?.status).toBe('done');
    expect(events.filter((e) => e.status === 'done').map((e) => `${e.phase}${e.host ? `@${e.host}` : ''}`)).toEqual(
      expect.arrayContaining(['a', 'b@h1', 'b@h2', 'b', 'c']),
    );
    for (const e of events) expect(typeof e.durationMs).toBe('number');
  });

  it('a second run with the real state in place does nothing and is up to date', async () => {
    const c = ctx();
    const j = await journal();
    await runPhases({ phases, ctx: c, journal: j, output: 'silent' });
    c.log.length = 0;
    const r = await runPhases({ phases, ctx: c, journal: j, output: 'silent' });
    expect(c.log).toEqual([]);
    expect(r.upToDate).toBe(true);
  });

  it('notices real state changed by hand even when the journal says done', async () => {
    const c = ctx();
    const j = await journal();
    await runPhases({ phases, ctx: c, journal: j, output: 'silent' });
    c.state.delete('b@h2');
    c.log.length = 0;
    const r = await runPhases({ phases, ctx: c, journal: j, output: 'silent' });
    expect(c.log).toEqual(['b@h2']);
    expect(r.upToDate).toBe(false);
  });

  it('skips a phase whose shouldRun is false', async () => {
    const c = ctx({ state: new Set(['a']) });
    const events: PhaseEvent[] = [];
    await runPhases({ phases, ctx: c, output: 'silent', onEvent: (e) => events.push(e) });
    expect(c.log).not.toContain('a');
    expect(events.find((e) => e.phase === 'a')?.status).toBe('skipped');
  });

  it('a failure marks the host and phase failed, lets the other hosts finish, and stops', async () => {
    const c = ctx({ failOn: 'b@h1' });
    const j = await journal();
    const events: PhaseEvent[] = [];
    const r = await runPhases({ phases, ctx: c, journal: j, output: 'silent', onEvent: (e) => events.push(e) });
    expect(r.ok).toBe(false);
    expect(r.failed).toMatchObject({ phase: 'b', host: 'h1' });
    expect(String((r.failed?.error as Error | undefined)?.message)).toMatch(/b@h1 broke/);
    expect(c.log).toContain('b@h2');
    expect(c.log).not.toContain('c');
    expect(j.host('b', 'h1')).toMatchObject({ status: 'failed', error: 'b@h1 broke' });
    expect(j.host('b', 'h2')?.status).toBe('done');
    expect(j.phase('b')?.status).toBe('failed');
    expect(j.phase('c')).toBeUndefined();
    expect(events.some((e) => e.phase === 'b' && e.host === 'h1' && e.status === 'failed')).toBe(true);

    // resume: fixed, only the failed host and the rest run
    delete c.failOn;
    c.log.length = 0;
    const r2 = await runPhases({ phases, ctx: c, journal: j, output: 'silent' });
    expect(r2.ok).toBe(true);
    expect(c.log).toEqual(['b@h1', 'c']);
  });

  it('resume uses the journal as a hint for phases that trust it', async () => {
    const j = await journal();
    await j.mark('a', undefined, 'done');
    const c = ctx();
    const trusting = fake('a', { shouldRun: (_c, i) => i.journal?.status !== 'done' });
    await runPhases({ phases: [trusting, fake('c')], ctx: c, journal: j, output: 'silent' });
    expect(c.log).toEqual(['c']);
  });

  it('--from and --only select phases; `always` phases run regardless', async () => {
    const ph = [fake('setup', { always: true }), ...phases];
    const c1 = ctx();
    await runPhases({ phases: ph, ctx: c1, from: 'b', output: 'silent' });
    expect(c1.log.filter((x) => !x.startsWith('b@'))).toEqual(['setup', 'c']);
    const c2 = ctx();
    await runPhases({ phases: ph, ctx: c2, only: 'c', output: 'silent' });
    expect(c2.log).toEqual(['setup', 'c']);
    expect(() => selectPhases(ph, { only: 'nope' })).toThrow(/--only nope: no such phase/);
  });

  it('--dry-run plans from the same code as the run: changes are listed, none is made, the journal is left alone', async () => {
    const j = await journal();
    const c = ctx({ state: new Set(['a']) });
    const ph = [fake('setup', { always: true }), ...phases];
    const r = await runPhases({ phases: ph, ctx: c, journal: j, dryRun: true, output: 'silent' });
    expect(c.state).toEqual(new Set(['a']));
    expect(r.plan.find((p) => p.phase === 'a')?.lines).toEqual([]);
    expect(
      r.plan
        .filter((p) => p.phase === 'b')
        .map((p) => p.lines[0])
        .sort(),
    ).toEqual(['do b@h1', 'do b@h2']);
    expect(r.plan.find((p) => p.phase === 'setup')?.lines).toEqual(['do setup']);
    expect(j.data.phases).toEqual({});
  });

  it('Ctrl-C stops between steps, marks the step interrupted, and resumes', async () => {
    const ac = new AbortController();
    const c = ctx();
    const j = await journal();
    const ph = [
      fake('a', {
        run: async (cc) => {
          cc.log.push('a');
          cc.state.add('a');
          ac.abort();
        },
      }),
      fake('c'),
    ];
    const r = await runPhases({ phases: ph, ctx: c, journal: j, output: 'silent', signal: ac.signal });
    expect(r.interrupted).toBe(true);
    expect(r.failed?.error).toBeInstanceOf(Interrupted);
    expect(c.log).toEqual(['a']);
    const r2 = await runPhases({ phases: ph, ctx: c, journal: j, output: 'silent' });
    expect(r2.ok).toBe(true);
    expect(c.log).toEqual(['a', 'c']);
  });

  it('a step that fails with any error after Ctrl-C counts as interrupted', async () => {
    const ac = new AbortController();
    const ph = [
      fake('a', {
        run: async () => {
          ac.abort();
          throw new Error('2 node(s) did not join');
        },
      }),
    ];
    const r = await runPhases({ phases: ph, ctx: ctx(), output: 'silent', signal: ac.signal });
    expect(r.interrupted).toBe(true);
    expect(r.failed?.error).toBeInstanceOf(Interrupted);
  });

  it('--output json writes one event per line to stdout', async () => {
    const lines: string[] = [];
    await runPhases({ phases: [fake('a'), fake('b', { perHostOn: true })], ctx: ctx(), output: 'json', write: (l) => lines.push(l) });
    const evs = lines
      .join('')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as PhaseEvent);
    expect(evs.map((e) => `${e.phase}${e.host ? `@${e.host}` : ''}:${e.status}`)).toEqual(
      expect.arrayContaining(['a:running', 'a:done', 'b@h1:done', 'b@h2:done', 'b:done']),
    );
    for (const e of evs)
      expect(Object.keys(e)).toEqual(
        expect.arrayContaining(['phase', 'status', ...((e.status as string) === 'progress' ? ['kind', 'message'] : ['durationMs'])]),
      );
    expect(evs.filter((e) => (e.status as string) === 'progress').length).toBeGreaterThan(0);
  });
});
