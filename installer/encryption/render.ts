import { renderTable } from '../core/output.ts';
import { describeBinding } from './luks.ts';
import type { ApplyReport } from './apply.ts';
import type { EncryptionStatusReport } from './status.ts';
import type { EncryptionPlan } from './types.ts';

/** Plain-text views of plans and reports for the terminal. */

export function renderPlan(plan: EncryptionPlan): string {
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const h of plan.hosts) {
    for (const d of h.disks) rows.push([h.host, d.device, d.action, d.reason]);
    if (h.disks.length === 0) rows.push([h.host, '-', 'nothing', h.mode === 'none' ? 'encryption is off (mode none)' : 'no disks configured']);
    if (h.binding) notes.push(`${h.host}: ${describeBinding(h.binding)}${h.unopened ? ', volumes stay closed (no device-mapper)' : ''}`);
    for (const b of h.blockers) notes.push(`${h.host}: BLOCKED: ${b}`);
  }
  if (rows.length === 0) return 'no hosts with disk encryption configured\n';
  return `${renderTable(['HOST', 'DISK', 'ACTION', 'WHY'], rows)}\n${notes.length ? `\n${notes.join('\n')}\n` : ''}`;
}

export function renderApplyReport(r: ApplyReport): string {
  const rows: string[][] = [];
  for (const h of r.hosts) {
    if (h.disks.length === 0) rows.push([h.host, '-', 'failed', '-', h.error ? `[${h.error.code}] ${h.error.message}` : '']);
    for (const d of h.disks) {
      const v = d.verification;
      const check = v.ok ? `ok: ${v.pins.length} pin(s) release a key, recovery key ${v.recoveryKey}` : v.problems.join('; ');
      rows.push([h.host, d.device, d.outcome, d.state, check]);
    }
  }
  return `${renderTable(['HOST', 'DISK', 'DONE', 'STATE', 'VERIFIED'], rows)}\n`;
}

export function renderStatus(r: EncryptionStatusReport): string {
  const rows: string[][] = [];
  for (const h of r.hosts) {
    if (h.error) rows.push([h.host, '-', h.mode, 'error', h.error]);
    for (const p of h.problems) rows.push([h.host, '-', h.mode, 'problem', p]);
    for (const d of h.disks) {
      const v = d.verification;
      const detail = v
        ? [
            `${v.cipher ?? '?'}, ${v.keyslots.length} keyslot(s)`,
            v.bindings.length ? v.bindings.join('; ') : 'no clevis binding',
            v.pins.length ? `pins ${v.pins.every((p) => p.ok) ? 'ok' : 'FAIL'}` : '',
            `recovery key ${v.recoveryKey}`,
            ...v.problems,
          ]
            .filter(Boolean)
            .join('; ')
        : d.reason;
      rows.push([
        h.host,
        d.device,
        h.mode,
        d.state,
        d.pending === 'nothing' ? detail : `${d.pending} pending: ${d.reason}${v?.problems.length ? `; ${v.problems.join('; ')}` : ''}`,
      ]);
    }
  }
  return `${renderTable(['HOST', 'DISK', 'MODE', 'STATE', 'DETAIL'], rows)}\n`;
}

/** JSON views (`--output json`): plain data, errors as {code, message, hint}. */
export function planJson(plan: EncryptionPlan): { hosts: EncryptionPlan['hosts']; work: boolean } {
  return { hosts: plan.hosts, work: plan.hosts.some((h) => h.disks.some((d) => d.action !== 'nothing')) };
}

export function applyReportJson(r: ApplyReport): Record<string, unknown> {
  return {
    ok: r.ok,
    hosts: r.hosts.map((h) => ({
      host: h.host,
      ok: h.ok,
      durationMs: Math.round(h.durationMs),
      ...(h.error
        ? { error: { code: h.error.code, message: h.error.message, ...(h.error.hint ? { hint: h.error.hint } : {}), details: h.error.details } }
        : {}),
      disks: h.disks,
    })),
    plan: planJson(r.plan),
  };
}
