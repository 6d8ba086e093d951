import { renderTable } from '../core/output.ts';
import type { ScanDiff } from './diff.ts';
import type { ScanResult } from './types.ts';

/** Text renderings of scan results, the history and a diff. */
export function renderScan(r: ScanResult): string {
  const s = r.summary;
  const head = `${r.id}: ${s.fail} failing, ${s.pass} passing, ${s.na} not applicable, ${s.excepted} excepted, ${s.info} informational (${r.versions.scanner}, rules ${r.versions.rules}${r.versions.vulndb ? `, vulnerability database ${r.versions.vulndb.built}${r.versions.vulndb.stale ? ' STALE' : ''}` : ''})`;
  const fails = r.findings.filter((f) => f.status === 'fail').map((f) => [f.host, f.check, f.detail.length > 110 ? `${f.detail.slice(0, 107)}...` : f.detail]);
  return [head, ...r.notes.map((n) => `note: ${n}`), ...(fails.length ? ['', renderTable(['HOST', 'CHECK', 'DETAIL'], fails)] : [])].join('\n') + '\n';
}

export function renderScanList(list: readonly ScanResult[]): string {
  if (list.length === 0) return 'no scans yet: palisade scan run --type compliance|security|conformance|sbom\n';
  return (
    renderTable(
      ['ID', 'TYPE', 'STARTED', 'FAIL', 'PASS', 'N/A', 'VULNDB'],
      list.map((r) => [
        r.id,
        r.type,
        r.startedAt,
        String(r.summary.fail),
        String(r.summary.pass),
        String(r.summary.na),
        r.versions.vulndb ? `${r.versions.vulndb.built.slice(0, 10)}${r.versions.vulndb.stale ? ' stale' : ''}` : '',
      ]),
    ) + '\n'
  );
}

export function renderDiff(d: ScanDiff): string {
  const part = (title: string, fs: ScanDiff['fixed']) => [`${title} (${fs.length})`, ...fs.map((f) => `  ${f.host}  ${f.check}  ${f.detail}`)];
  return (
    [`${d.from} -> ${d.to}`, ...part('newly failing', d.newlyFailing), ...part('fixed', d.fixed), ...part('still failing', d.stillFailing)].join('\n') + '\n'
  );
}
