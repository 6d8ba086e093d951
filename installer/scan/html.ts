import type { ScanResult } from './types.ts';

/**
 * A self-contained HTML report of one scan for the security team: the
 * summary, a table per host of what failed (and a count of what passed), and
 * the trend of failures over this scan type's history as a small inline SVG
 * chart. No scripts, no external resources: it opens anywhere, offline.
 */
const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export const CHART_FAIL_COLOR = '#c92a2a';
export const CHART_PASS_COLOR = '#2f9e44';

export function trendChart(history: readonly ScanResult[], current: string): string {
  const w = 560;
  const h = 160;
  const pad = 28;
  const pts = history.slice(-20);
  const max = Math.max(1, ...pts.map((r) => r.summary.fail + r.summary.pass));
  const bw = Math.max(6, Math.floor((w - 2 * pad) / Math.max(1, pts.length)) - 6);
  const bars = pts.map((r, i) => {
    const x = pad + i * (bw + 6);
    const fh = Math.round(((h - 2 * pad) * r.summary.fail) / max);
    const ph = Math.round(((h - 2 * pad) * r.summary.pass) / max);
    const y = h - pad;
    return (
      `<g><title>${esc(r.id)}: ${r.summary.fail} failing, ${r.summary.pass} passing</title>` +
      `<rect x="${x}" y="${y - fh - ph}" width="${bw}" height="${ph}" fill="${CHART_PASS_COLOR}" opacity="0.35"/>` +
      `<rect x="${x}" y="${y - fh}" width="${bw}" height="${fh}" fill="${CHART_FAIL_COLOR}"/>` +
      `<text x="${x + bw / 2}" y="${y - fh - ph - 4}" font-size="11" text-anchor="middle">${r.summary.fail}</text>` +
      (r.id === current
        ? `<rect x="${x - 2}" y="${pad - 6}" width="${bw + 4}" height="${h - 2 * pad + 6}" fill="none" stroke="#1c7ed6" stroke-width="2"/>`
        : '') +
      '</g>'
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" role="img" aria-label="failures per scan"><line x1="${pad}" y1="${h - pad}" x2="${w - pad}" y2="${h - pad}" stroke="#868e96"/>${bars.join('')}<text x="${pad}" y="${h - 8}" font-size="11" fill="#495057">oldest</text><text x="${w - pad}" y="${h - 8}" font-size="11" fill="#495057" text-anchor="end">newest</text></svg>`;
}

export function renderScanHtml(r: ScanResult, history: readonly ScanResult[]): string {
  const hosts = [...new Set(r.findings.map((f) => f.host))].sort();
  const rows = hosts.map((h) => {
    const fs = r.findings.filter((f) => f.host === h);
    const failed = fs.filter((f) => f.status === 'fail');
    return `<tr><td>${esc(h)}</td><td class="n">${fs.filter((f) => f.status === 'pass').length}</td><td class="n fail">${failed.length}</td><td class="n">${fs.filter((f) => f.status === 'na').length}</td><td class="n">${fs.filter((f) => f.status === 'excepted').length}</td></tr>`;
  });
  const fails = r.findings
    .filter((f) => f.status === 'fail')
    .map((f) => `<tr><td>${esc(f.host)}</td><td><code>${esc(f.check)}</code></td><td>${esc(f.title ?? '')}</td><td>${esc(f.detail)}</td></tr>`);
  const s = r.summary;
  const db = r.versions.vulndb;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>palisade ${esc(r.type)} scan ${esc(r.id)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #212529; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 24px 0 8px; }
.meta { color: #495057; } table { border-collapse: collapse; } td, th { border: 1px solid #dee2e6; padding: 4px 8px; text-align: left; vertical-align: top; }
.n { text-align: right; } .fail { color: ${CHART_FAIL_COLOR}; font-weight: 600; }
.cards { display: flex; gap: 12px; margin: 12px 0; } .card { border: 1px solid #dee2e6; border-radius: 6px; padding: 8px 14px; min-width: 90px; }
.card b { display: block; font-size: 22px; } .card.bad b { color: ${CHART_FAIL_COLOR}; } .card.good b { color: ${CHART_PASS_COLOR}; }
.note { background: #fff3bf; padding: 6px 10px; border-radius: 4px; margin: 4px 0; }
</style></head><body>
<h1>${esc(r.type)} scan of ${esc(r.cluster)}</h1>
<div class="meta">${esc(r.id)} &middot; ${esc(r.startedAt)} &middot; scanner ${esc(r.versions.scanner)}, rules ${esc(r.versions.rules)}${db ? `, vulnerability database built ${esc(db.built)} (${db.ageDays} days old${db.stale ? ', STALE' : ''})` : ''}</div>
<section id="summary"><h2>Summary</h2><div class="cards">
<div class="card ${s.fail ? 'bad' : 'good'}"><b>${s.fail}</b>failing</div><div class="card good"><b>${s.pass}</b>passing</div><div class="card"><b>${s.na}</b>not applicable</div><div class="card"><b>${s.excepted}</b>excepted</div><div class="card"><b>${r.hosts.length}</b>hosts</div>
</div>${r.notes.map((n) => `<div class="note">${esc(n)}</div>`).join('')}</section>
<section id="trend"><h2>Failures over the last ${Math.min(20, history.length)} ${esc(r.type)} scans</h2>${trendChart(history, r.id)}</section>
<section id="hosts"><h2>Per host</h2><table><tr><th>host</th><th>passing</th><th>failing</th><th>n/a</th><th>excepted</th></tr>${rows.join('')}</table></section>
<section id="failing"><h2>Failing checks</h2>${fails.length ? `<table><tr><th>host</th><th>check</th><th>what</th><th>detail</th></tr>${fails.join('')}</table>` : '<p>none</p>'}</section>
</body></html>
`;
}
