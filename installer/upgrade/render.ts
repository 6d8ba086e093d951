import { DateTime } from 'luxon';
import type { UpgradePlan } from './plan.ts';
import { describeWindow, type Window } from './windows.ts';

/** Text for `palisade upgrade windows` and `palisade upgrade plan`. Pure. */
export function formatMs(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 90) return `${s} s`;
  const m = Math.round(s / 60);
  return m < 120 ? `${m} min` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

function local(ms: number, zone: string): string {
  return DateTime.fromMillis(ms, { zone }).toFormat("ccc yyyy-MM-dd HH:mm '('ZZ')'");
}

export function windowLine(w: Window, i: number): string {
  const d = describeWindow(w);
  return `  ${String(i + 1).padStart(2)}. ${local(w.start, w.zone)} → ${local(w.end, w.zone)} ${w.zone}   UTC ${d.start.slice(0, 16).replace('T', ' ')} → ${d.end.slice(0, 16).replace('T', ' ')}   ${formatMs(w.end - w.start)}`;
}

export function renderWindows(ws: Window[], at: number, configured: number): string {
  if (configured === 0) return 'no maintenance windows are configured (maintenanceWindows in palisade.yaml): an upgrade then needs --ignore-window --yes\n';
  const open = ws.find((w) => w.start <= at && at < w.end);
  const when = new Date(at).toISOString().slice(0, 16).replace('T', ' ');
  const head = open
    ? `at ${when} UTC: inside a window, ${formatMs(open.end - at)} left`
    : `at ${when} UTC: outside every window; the next opens in ${ws[0] ? formatMs(ws[0].start - at) : '(none found)'}`;
  return [head, 'next windows (merged where they overlap or touch):', ...ws.map(windowLine)].join('\n') + '\n';
}

export function renderPlan(p: UpgradePlan, now: number): string {
  const lines = [`upgrade plan for "${p.cluster}": bundle ${p.bundle.name} ${p.bundle.version}`, '', 'components (current → target):'];
  for (const c of p.components) lines.push(`  ${c.component.padEnd(16)} ${c.current} → ${c.target}${c.change ? '' : '   (no change)'}`);
  lines.push('', 'hosts, in order (controllers one at a time, then workers):');
  let k = 0;
  for (const h of p.hosts) {
    const est = h.work ? `~${formatMs(h.estimate.ms)} (${h.estimate.source})` : 'already at the target';
    lines.push(`  ${h.work ? `${++k}.` : '- '} ${h.name.padEnd(12)} ${h.role.padEnd(10)} ${h.current ?? '?'} → ${h.target}   ${est}`);
  }
  lines.push('', `estimated total: ${formatMs(p.totalEstimateMs)} (${p.steps.length} step(s))`);
  if (p.windows.length === 0) lines.push('windows: none configured; the upgrade needs --ignore-window --yes');
  else if (p.schedule.unplaceable)
    lines.push(
      `windows: the step on ${p.schedule.unplaceable.hosts.join(', ')} (~${formatMs(p.schedule.unplaceable.estimateMs)}) is longer than any window (longest ${formatMs(p.schedule.unplaceable.longestMs)}): lengthen a window, or use --ignore-window --yes`,
    );
  else if (p.steps.length) {
    lines.push(
      p.schedule.windowsNeeded <= 1
        ? 'windows: the whole upgrade fits in one window'
        : `windows: the upgrade needs ${p.schedule.windowsNeeded} windows (it stops between hosts and continues in the next)`,
    );
    const used = [...new Set(p.schedule.steps.map((s) => s.window))];
    for (const i of used) {
      const w = p.windows[i]!;
      const here = p.schedule.steps.filter((s) => s.window === i).flatMap((s) => s.hosts);
      lines.push(`${windowLine(w, i)}${w.start <= now && now < w.end ? '   (open now)' : ''}\n        hosts: ${here.join(', ')}`);
    }
  }
  if (p.upToDate && !p.problems.length) lines.push('', `up to date: every host runs ${p.target}`);
  if (p.problems.length) {
    lines.push('', 'the upgrade cannot start:');
    for (const x of p.problems) lines.push(`  - ${x.message}\n      fix: ${x.hint}`);
  }
  return lines.join('\n') + '\n';
}
