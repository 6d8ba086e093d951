/**
 * Parsers for the probe's disk sections: lsblk, the configured data disk and
 * the fdatasync latency sample.
 */
import type { DataDiskFacts, DiskFacts, DiskLatencyFacts } from './types.ts';
import { kvAll, num, parseKv } from './parse-text.ts';

interface LsblkJson {
  name?: string;
  kname?: string;
  path?: string;
  size?: number | string | null;
  rota?: boolean | string | null;
  type?: string;
  model?: string | null;
  serial?: string | null;
  mountpoint?: string | null;
  mountpoints?: Array<string | null>;
  fstype?: string | null;
  children?: LsblkJson[];
}

const boolish = (v: boolean | string | null | undefined): boolean | undefined =>
  v === true || v === '1' || v === 'true' ? true : v === false || v === '0' || v === 'false' ? false : undefined;
const strish = (v: string | null | undefined): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

function fromLsblkJson(d: LsblkJson): DiskFacts {
  const name = d.name ?? d.kname ?? '?';
  const mounts = [d.mountpoint, ...(d.mountpoints ?? [])].filter((m): m is string => typeof m === 'string' && m !== '');
  const rota = boolish(d.rota);
  const model = strish(d.model);
  const serial = strish(d.serial);
  const fstype = strish(d.fstype);
  return {
    name,
    path: d.path ?? `/dev/${name}`,
    sizeBytes: Number(d.size ?? 0) || 0,
    ...(rota !== undefined ? { rotational: rota } : {}),
    type: d.type ?? 'unknown',
    ...(model ? { model } : {}),
    ...(serial ? { serial } : {}),
    mountpoints: [...new Set(mounts)],
    ...(fstype ? { fstype } : {}),
    children: (d.children ?? []).map(fromLsblkJson),
  };
}

/** `lsblk -P` (no JSON support): KEY="value" pairs per line, parents by PKNAME. */
function parseLsblkPairs(body: string): DiskFacts[] {
  const rows = body
    .split('\n')
    .filter((l) => l.includes('='))
    .map((l) => {
      const r: Record<string, string> = {};
      for (const m of l.matchAll(/([A-Z:-]+)="((?:[^"\\]|\\.)*)"/g)) if (m[1]) r[m[1]] = (m[2] ?? '').replace(/\\x20/g, ' ');
      return r;
    });
  const byName = new Map<string, DiskFacts>();
  const top: DiskFacts[] = [];
  for (const r of rows) {
    const d = fromLsblkJson({
      name: r.NAME ?? '?',
      size: r.SIZE ?? '0',
      rota: r.ROTA ?? null,
      type: r.TYPE ?? 'unknown',
      model: r.MODEL ?? null,
      serial: r.SERIAL ?? null,
      mountpoint: r.MOUNTPOINT ?? null,
      fstype: r.FSTYPE ?? null,
    });
    byName.set(d.name, d);
    const parent = r.PKNAME ? byName.get(r.PKNAME) : undefined;
    if (parent) parent.children.push(d);
    else top.push(d);
  }
  return top;
}

export function parseLsblk(body: string | undefined): DiskFacts[] | undefined {
  const t = (body ?? '').trim();
  if (!t) return undefined;
  if (t.startsWith('{')) {
    try {
      return ((JSON.parse(t) as { blockdevices?: LsblkJson[] }).blockdevices ?? []).map(fromLsblkJson);
    } catch {
      return undefined;
    }
  }
  return parseLsblkPairs(t);
}

export function parseDataDisk(device: string, body: string | undefined): DataDiskFacts {
  const kv = parseKv(body);
  const size = num(kv.size);
  return {
    device,
    exists: kv.exists === '1',
    isBlockDevice: kv.block === '1',
    ...(size !== undefined ? { sizeBytes: size } : {}),
    ...(kv.devno ? { devno: kv.devno } : {}),
    ...(kv['blkid.TYPE'] ? { fstype: kv['blkid.TYPE'] } : {}),
    ...(kv['blkid.PTTYPE'] ? { ptType: kv['blkid.PTTYPE'] } : {}),
    partitions: kvAll(body, 'part').map((p) => p.split(/\s+/)[0] ?? p),
    mountpoints: [...new Set(kvAll(body, 'mount').map((m) => m.replace(/\\040/g, ' ')))],
    holders: kvAll(body, 'holder'),
  };
}
/** nearest-rank percentile of a sample (q in 0..100) */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((q / 100) * s.length);
  return s[Math.min(s.length, Math.max(1, rank)) - 1] as number;
}

export function parseLatency(body: string | undefined): { latency?: DiskLatencyFacts; note?: string } {
  const t = (body ?? '').trim();
  const kv = parseKv(
    t
      .split('\n')
      .filter((l) => !l.startsWith(' ') && !l.startsWith('{'))
      .join('\n'),
  );
  if (kv.error) return { note: `disk latency: ${kv.error}` };
  const path = kv.path ?? '?';
  if (kv.method === 'fio') {
    const a = t.indexOf('{');
    const b = t.lastIndexOf('}');
    if (a < 0 || b < a) return { note: 'disk latency: fio printed no result' };
    try {
      const doc = JSON.parse(t.slice(a, b + 1)) as { jobs?: Array<{ sync?: { lat_ns?: { N?: number; percentile?: Record<string, number> } } }> };
      const lat = doc.jobs?.[0]?.sync?.lat_ns;
      const p99 = lat?.percentile?.['99.000000'];
      if (!lat || p99 === undefined) return { note: 'disk latency: fio reported no fdatasync latencies' };
      const p50 = lat.percentile?.['50.000000'];
      return { latency: { method: 'fio', path, samples: lat.N ?? 0, p99Ms: p99 / 1e6, ...(p50 !== undefined ? { p50Ms: p50 / 1e6 } : {}) } };
    } catch {
      return { note: 'disk latency: fio output was not JSON' };
    }
  }
  if (kv.method === 'dd') {
    const us = (tag: string) =>
      t
        .split('\n')
        .filter((l) => l.startsWith(`${tag} `))
        .map((l) => Number(l.slice(tag.length + 1)))
        .filter(Number.isFinite);
    const base = us('base');
    const sync = us('sync');
    if (sync.length < 5) return { note: `disk latency: only ${sync.length} dd samples` };
    const overhead = base.length ? percentile(base, 50) : 0;
    const adj = sync.map((v) => Math.max(0, v - overhead) / 1000);
    return { latency: { method: 'dd', path, samples: adj.length, p99Ms: percentile(adj, 99), p50Ms: percentile(adj, 50), overheadMs: overhead / 1000 } };
  }
  return { note: 'disk latency: not measured' };
}
