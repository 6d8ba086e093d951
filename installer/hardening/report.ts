import { renderTable } from '../core/output.ts';
import type { HardenReport } from './run.ts';

/** The text report of a harden run: per host, every rule and what happened to it. */
const LABEL: Record<string, string> = {
  right: 'already right',
  fixed: 'fixed',
  'would-fix': 'would fix',
  'not-applicable': 'not applicable',
  excepted: 'excepted',
  manual: 'look at it',
  failed: 'FAILED',
};

export function renderHardenReport(r: HardenReport): string {
  if (r.profile === 'none') return 'hardening.profile is none: nothing checked or changed\n';
  const out: string[] = [];
  for (const h of r.hosts) {
    out.push(`${h.host}${h.container !== 'none' && h.container !== 'unknown' ? ` (${h.container} container)` : ''}`);
    if (h.error) {
      out.push(`  not hardened: ${h.error}`, '');
      continue;
    }
    const rows = h.outcomes.map((o) => [o.rule, o.cis ?? '', LABEL[o.status] ?? o.status, o.reason ? `${o.detail} (${o.reason})` : o.detail]);
    out.push(
      renderTable(['RULE', 'CIS', 'RESULT', 'DETAIL'], rows)
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n'),
    );
    for (const c of h.changes) out.push(`  changed: ${c}`);
    out.push('');
  }
  const s = r.summary;
  out.push(
    `${r.dryRun ? 'dry run: ' : ''}${s.right} already right, ${r.dryRun ? `${s['would-fix']} would be fixed` : `${s.fixed} fixed`}, ${s['not-applicable']} not applicable, ${s.excepted} excepted, ${s.manual} to look at, ${s.failed} failed (rules ${r.rulesVersion})`,
  );
  return out.join('\n') + '\n';
}
