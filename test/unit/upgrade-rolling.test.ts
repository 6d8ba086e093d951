import { describe, expect, it } from 'vitest';
import { runRolling, WindowStop, type RollingStep } from '../../installer/upgrade/rolling.ts';
import type { Window } from '../../installer/upgrade/windows.ts';
import { failure } from '../fixtures/errors.ts';

const MIN = 60_000;
const T0 = Date.parse('2026-12-05T02:00:00Z');
const windows: Window[] = [
  { start: T0, end: T0 + 30 * MIN, zone: 'UTC' },
  { start: T0 + 24 * 60 * MIN, end: T0 + 24 * 60 * MIN + 60 * MIN, zone: 'UTC' },
];

/** a clock that each step moves on by what it took */
function harness(startAt: number, took: Record<string, number>) {
  let t = startAt;
  const ran: Array<{ hosts: string[]; at: number }> = [];
  const waits: number[] = [];
  let keepAlives = 0;
  return {
    ran,
    waits,
    keepAlives: () => keepAlives,
    opts: (steps: RollingStep[], extra: { waitForWindow?: boolean; ignoreWindow?: boolean } = {}) => ({
      steps,
      windowsFrom: (now: number) => windows.filter((w) => w.end > now),
      now: () => t,
      ignoreWindow: !!extra.ignoreWindow,
      waitForWindow: !!extra.waitForWindow,
      signal: new AbortController().signal,
      runStep: async (s: RollingStep) => {
        ran.push({ hosts: s.hosts, at: t });
        t += took[s.hosts[0]!] ?? 0;
      },
      onWait: (_s: RollingStep, w: Window) => void waits.push(w.start),
      keepAlive: async () => void keepAlives++,
      sleep: async (ms: number) => void (t += ms),
    }),
  };
}

const steps: RollingStep[] = [
  { hosts: ['host1'], estimateMs: 10 * MIN },
  { hosts: ['host2'], estimateMs: 10 * MIN },
  { hosts: ['host3'], estimateMs: 10 * MIN },
];

describe('rolling upgrade and the windows', () => {
  it('stops cleanly between hosts when the next step does not fit what is left, with exit 75 and the next window', async () => {
    const h = harness(T0, { host1: 10 * MIN, host2: 12 * MIN });
    const e = await failure(runRolling(h.opts(steps)));
    expect(e).toBeInstanceOf(WindowStop);
    expect(e.exitCode).toBe(75);
    expect(h.ran.map((r) => r.hosts[0])).toEqual(['host1', 'host2']);
    expect(e.message).toContain('1 host(s) left (host3)');
    expect(e.message).toContain('does not fit in the 8 min left of this window');
    expect(e.message).toContain('The next window opens 2026-12-06T02:00:00Z');
  });

  it('outside every window nothing starts', async () => {
    const h = harness(T0 - MIN, {});
    const e = await failure(runRolling(h.opts(steps)));
    expect(e.message).toMatch(/^stopped between hosts: no maintenance window is open; 3 host\(s\) left/);
    expect(h.ran).toEqual([]);
  });

  it('--wait-for-window waits for the next window (keeping connections alive) and carries on until done', async () => {
    const h = harness(T0, { host1: 10 * MIN, host2: 12 * MIN, host3: 10 * MIN });
    await runRolling(h.opts(steps, { waitForWindow: true }));
    expect(h.ran.map((r) => [r.hosts[0], r.at - T0])).toEqual([
      ['host1', 0],
      ['host2', 10 * MIN],
      ['host3', 24 * 60 * MIN],
    ]);
    expect(h.waits).toEqual([windows[1]!.start]);
    expect(h.keepAlives()).toBeGreaterThan(10);
  });

  it('--ignore-window runs everything at once, outside windows', async () => {
    const h = harness(T0 - 5 * 60 * MIN, {});
    await runRolling(h.opts(steps, { ignoreWindow: true }));
    expect(h.ran).toHaveLength(3);
  });

  it('a step longer than every window is refused before it starts', async () => {
    const h = harness(T0, {});
    const e = await failure(runRolling(h.opts([{ hosts: ['host1'], estimateMs: 2 * 60 * MIN }])));
    expect(e.code).toBe('upgrade.window-too-short');
    expect(h.ran).toEqual([]);
  });
});
