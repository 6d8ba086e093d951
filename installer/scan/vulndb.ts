import { compareDebVersions } from '../hardening/debversion.ts';
import type { InstalledPackage } from '../hardening/types.ts';
import type { Finding } from './types.ts';

/**
 * Vulnerability records in the OSV format (ossf.github.io/osv-schema), as the
 * bundle ships them in vulndb/ with a metadata.json saying when the database
 * was built. Only Debian ecosystem entries are matched, with Debian version
 * ordering. A database older than the allowed age is stale: the scan says so
 * in a finding of its own, it is never silently trusted.
 */
export interface OsvEvent {
  introduced?: string;
  fixed?: string;
  last_affected?: string;
}
export interface OsvRecord {
  id: string;
  summary?: string;
  details?: string;
  aliases?: string[];
  affected?: Array<{ package?: { ecosystem?: string; name?: string }; ranges?: Array<{ type?: string; events?: OsvEvent[] }>; versions?: string[] }>;
}

export interface VulnDb {
  built: string;
  records: OsvRecord[];
}

export function parseVulnDbFiles(files: ReadonlyArray<{ name: string; text: string }>): VulnDb {
  const meta = files.find((f) => f.name === 'metadata.json');
  if (!meta) throw new Error('vulndb/ has no metadata.json (its build date)');
  const m = JSON.parse(meta.text) as { built?: string };
  if (!m.built || Number.isNaN(Date.parse(m.built))) throw new Error('vulndb/metadata.json has no valid "built" date');
  const records: OsvRecord[] = [];
  for (const f of files) {
    if (f.name === 'metadata.json' || !f.name.endsWith('.json')) continue;
    const v = JSON.parse(f.text) as OsvRecord | OsvRecord[];
    for (const r of Array.isArray(v) ? v : [v]) if (r && typeof r.id === 'string') records.push(r);
  }
  return { built: new Date(m.built).toISOString(), records };
}

/** Is `version` inside one OSV ECOSYSTEM range (events in order: introduced, then fixed or last_affected)? */
export function inRange(version: string, events: readonly OsvEvent[]): boolean {
  let affected = false;
  for (const e of events) {
    if (e.introduced !== undefined && (e.introduced === '0' || compareDebVersions(version, e.introduced) >= 0)) affected = true;
    if (e.fixed !== undefined && compareDebVersions(version, e.fixed) >= 0) affected = false;
    if (e.last_affected !== undefined && compareDebVersions(version, e.last_affected) > 0) affected = false;
  }
  return affected;
}

export function matchPackages(host: string, packages: Record<string, InstalledPackage>, db: VulnDb): Finding[] {
  const out: Finding[] = [];
  for (const r of db.records) {
    for (const a of r.affected ?? []) {
      if (!a.package?.name || !(a.package.ecosystem ?? '').startsWith('Debian')) continue;
      const p = packages[a.package.name];
      if (!p || !(p.status.startsWith('i') || p.status.startsWith('h'))) continue;
      const hit = (a.versions ?? []).includes(p.version) || (a.ranges ?? []).some((rg) => rg.type === 'ECOSYSTEM' && inRange(p.version, rg.events ?? []));
      if (!hit) continue;
      const fixed = (a.ranges ?? []).flatMap((rg) => (rg.events ?? []).map((e) => e.fixed)).filter(Boolean);
      out.push({
        check: `vuln.${r.id}`,
        host,
        status: 'fail',
        title: r.summary ?? r.id,
        detail: `${p.name} ${p.version}${fixed.length ? `, fixed in ${fixed.join(', ')}` : ', no fix yet'}${r.aliases?.length ? ` (${r.aliases.join(', ')})` : ''}`,
      });
      break;
    }
  }
  return out;
}

export function dbAge(db: VulnDb, now: number, maxAgeDays: number): { built: string; ageDays: number; stale: boolean; records: number } {
  const ageDays = Math.floor((now - Date.parse(db.built)) / 86_400_000);
  return { built: db.built, ageDays, stale: ageDays > maxAgeDays, records: db.records.length };
}
