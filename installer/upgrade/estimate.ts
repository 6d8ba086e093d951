import type { JournalData } from '../state/journal.ts';
import type { Window } from './windows.ts';

/**
 * How long a host's upgrade step will take, from this cluster's own recorded
 * step durations, and whether it fits in what is left of a window. Pure.
 *
 * Sources, best first: earlier upgrades of the same host (median of the last
 * three); earlier upgrades of hosts with the same role; the host's own join
 * during install plus DRAIN_AND_GATE_MS (an upgrade step is a restart and a
 * wait for Ready like the join, with a drain before it and a health gate after);
 * else DEFAULT_STEP_MS.
 */
export const DEFAULT_STEP_MS = 300_000;
export const DRAIN_AND_GATE_MS = 20_000;

export interface HostDuration {
  host: string;
  role: 'controller' | 'worker';
  durationMs: number;
  finishedAt: string;
}

export type EstimateSource = 'this host, earlier upgrades' | 'same role, earlier upgrades' | 'this host, install' | 'default';

export interface Estimate {
  host: string;
  ms: number;
  source: EstimateSource;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : Math.round((s[m - 1]! + s[m]!) / 2);
};

export function estimateHost(host: string, role: 'controller' | 'worker', upgrades: readonly HostDuration[], journal: JournalData | undefined): Estimate {
  const recent = (xs: readonly HostDuration[]) =>
    [...xs]
      .sort((a, b) => b.finishedAt.localeCompare(a.finishedAt))
      .slice(0, 3)
      .map((x) => x.durationMs);
  const own = upgrades.filter((u) => u.host === host);
  if (own.length) return { host, ms: median(recent(own)), source: 'this host, earlier upgrades' };
  const peers = upgrades.filter((u) => u.role === role);
  if (peers.length) return { host, ms: median(recent(peers)), source: 'same role, earlier upgrades' };
  const join = journal?.phases.cluster?.hosts[host];
  if (join?.status === 'done' && join.durationMs !== undefined) return { host, ms: join.durationMs + DRAIN_AND_GATE_MS, source: 'this host, install' };
  return { host, ms: DEFAULT_STEP_MS, source: 'default' };
}

export type StepDecision =
  | { kind: 'go'; window?: Window }
  /** not now: the first window from now the step fits in */
  | { kind: 'later'; reason: 'outside' | 'does-not-fit'; next: Window }
  /** no window within the horizon is long enough */
  | { kind: 'never'; longestMs: number };

/**
 * May a step of `estimateMs` start at `now`? Only inside a window, and only
 * when the estimate fits in what is left of it.
 */
export function decideStep(now: number, estimateMs: number, windows: readonly Window[]): StepDecision {
  const open = windows.find((w) => w.start <= now && now < w.end);
  if (open && now + estimateMs <= open.end) return { kind: 'go', window: open };
  const next = windows.find((w) => w !== open && w.start > now && w.end - w.start >= estimateMs);
  if (!next) return { kind: 'never', longestMs: Math.max(0, ...windows.map((w) => w.end - Math.max(w.start, now))) };
  return { kind: 'later', reason: open ? 'does-not-fit' : 'outside', next };
}

export interface ScheduledStep {
  hosts: string[];
  estimateMs: number;
  /** planned start, UTC ms */
  start: number;
  /** index into the windows */
  window: number;
}

export interface Schedule {
  steps: ScheduledStep[];
  /** how many different windows the upgrade needs (0: it cannot be placed) */
  windowsNeeded: number;
  totalMs: number;
  /** a step no window is long enough for */
  unplaceable?: { hosts: string[]; estimateMs: number; longestMs: number };
}

/** Place the steps one after another, each in the first window (from `now`) where it fits. */
export function scheduleSteps(now: number, steps: ReadonlyArray<{ hosts: string[]; estimateMs: number }>, windows: readonly Window[]): Schedule {
  let t = now;
  const out: ScheduledStep[] = [];
  for (const s of steps) {
    const d = decideStep(t, s.estimateMs, windows);
    if (d.kind === 'never')
      return { steps: out, windowsNeeded: 0, totalMs: 0, unplaceable: { hosts: s.hosts, estimateMs: s.estimateMs, longestMs: d.longestMs } };
    const w = d.kind === 'go' ? d.window! : d.next;
    const start = d.kind === 'go' ? t : Math.max(w.start, t);
    out.push({ hosts: s.hosts, estimateMs: s.estimateMs, start, window: windows.indexOf(w) });
    t = start + s.estimateMs;
  }
  return { steps: out, windowsNeeded: new Set(out.map((s) => s.window)).size, totalMs: steps.reduce((a, s) => a + s.estimateMs, 0) };
}
