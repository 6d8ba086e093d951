import { setTimeout as sleep } from 'node:timers/promises';
import { EXIT, PalisadeError } from '../core/errors.ts';
import { decideStep } from './estimate.ts';
import { formatMs } from './render.ts';
import { describeWindow, type Window } from './windows.ts';

/**
 * The rolling part of an upgrade: the host steps in order, each started only
 * inside a window and only when its estimate fits in what is left of it. When
 * the next step does not fit, the run stops cleanly between hosts (exit 75,
 * saying when the next window opens) or, with waitForWindow, waits for it —
 * keeping the SSH connections alive — and carries on across windows until done.
 * The window rules are skipped only with ignoreWindow (--ignore-window --yes).
 */
export interface RollingStep {
  hosts: string[];
  estimateMs: number;
}

export interface RollingOptions {
  steps: readonly RollingStep[];
  /** the merged windows from an instant on */
  windowsFrom(now: number): Window[];
  now(): number;
  ignoreWindow: boolean;
  waitForWindow: boolean;
  signal: AbortSignal;
  runStep(step: RollingStep): Promise<void>;
  /** before waiting for a window (to say when it starts and record it) */
  onWait?(step: RollingStep, w: Window, why: string): Promise<void> | void;
  /** every keepAliveMs while waiting: keep the connections open (or reconnect) */
  keepAlive?(): Promise<void>;
  keepAliveMs?: number;
  /** for tests: how to wait */
  sleep?(ms: number, signal: AbortSignal): Promise<void>;
}

export class WindowStop extends PalisadeError {
  constructor(
    readonly next: Window | undefined,
    readonly remaining: string[],
    why: string,
  ) {
    const d = next ? describeWindow(next) : undefined;
    super(
      'upgrade.window',
      `stopped between hosts: ${why}; ${remaining.length} host(s) left (${remaining.join(', ')})${d ? `. The next window opens ${d.startLocal}${d.startLocal === d.start ? '' : ` (${d.start})`}` : ''}`,
      {
        exitCode: EXIT.window,
        hint: 'run the same command inside the next window to continue where it stopped, or add --wait-for-window to wait for it',
      },
    );
  }
}

const defaultSleep = (ms: number, signal: AbortSignal) => sleep(ms, undefined, { signal });

export async function runRolling(o: RollingOptions): Promise<void> {
  const nap = o.sleep ?? defaultSleep;
  const keepAliveMs = o.keepAliveMs ?? 30_000;
  for (let i = 0; i < o.steps.length; i++) {
    const step = o.steps[i]!;
    o.signal.throwIfAborted();
    if (!o.ignoreWindow) {
      for (;;) {
        const now = o.now();
        const ws = o.windowsFrom(now);
        const d = decideStep(now, step.estimateMs, ws);
        if (d.kind === 'go') break;
        const remaining = o.steps.slice(i).flatMap((s) => s.hosts);
        if (d.kind === 'never') {
          throw new PalisadeError(
            'upgrade.window-too-short',
            `the step on ${step.hosts.join(', ')} needs ~${formatMs(step.estimateMs)}, longer than any maintenance window (the longest is ${formatMs(d.longestMs)})`,
            {
              hint: 'lengthen a window in maintenanceWindows, or use --ignore-window --yes in an emergency',
            },
          );
        }
        const why =
          d.reason === 'outside'
            ? 'no maintenance window is open'
            : `the next step (${step.hosts.join(', ')}, ~${formatMs(step.estimateMs)}) does not fit in the ${formatMs(ws.find((w) => w.start <= now && now < w.end)!.end - now)} left of this window`;
        if (!o.waitForWindow) throw new WindowStop(d.next, remaining, why);
        await o.onWait?.(step, d.next, why);
        // wake up in slices: keep the connections alive, and notice a clock that jumped
        while (o.now() < d.next.start) {
          o.signal.throwIfAborted();
          await nap(Math.min(keepAliveMs, Math.max(0, d.next.start - o.now())), o.signal);
          await o.keepAlive?.();
        }
      }
    }
    await o.runStep(step);
  }
}

/** "5m", "90s", "1h" (upgrade.drainTimeout) → ms */
export function parseDrainTimeout(s: string): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(s)!;
  return ((Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 1000;
}
