import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic.ts';
import { usageError } from '../core/errors.ts';
import type { ScanResult, ScanType } from './types.ts';

/** Scan history: one JSON file per scan in .palisade/<cluster>/scans/, written atomically, never rewritten. */
export const scansDir = (stateDir: string): string => join(stateDir, 'scans');

/** sortable, readable ids: security-20261201T081500Z (a second counter keeps two scans in one second apart) */
export function scanId(type: ScanType, at: Date, taken: ReadonlySet<string>): string {
  const base = `${type}-${at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}`;
  let id = base;
  for (let n = 2; taken.has(id); n++) id = `${base}-${n}`;
  return id;
}

export async function saveScan(stateDir: string, r: ScanResult): Promise<string> {
  const path = join(scansDir(stateDir), `${r.id}.json`);
  await writeFileAtomic(path, JSON.stringify(r, null, 2) + '\n', { mode: 0o600, mkdirp: true });
  return path;
}

export async function listScans(stateDir: string): Promise<ScanResult[]> {
  let names: string[];
  try {
    names = (await readdir(scansDir(stateDir))).filter((n) => n.endsWith('.json') && !n.startsWith('.'));
  } catch {
    return [];
  }
  const all = await Promise.all(names.map(async (n) => JSON.parse(await readFile(join(scansDir(stateDir), n), 'utf8')) as ScanResult));
  return all.sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id));
}

export async function loadScan(stateDir: string, id: string): Promise<ScanResult> {
  if (!/^[a-z]+-[0-9TZ-]+$/.test(id))
    throw usageError('scan.id', `"${id}" is not a scan id`, 'ids look like security-20261201T081500Z: `palisade scan list` shows them');
  try {
    return JSON.parse(await readFile(join(scansDir(stateDir), `${id}.json`), 'utf8')) as ScanResult;
  } catch {
    throw usageError('scan.unknown', `no scan ${id} in ${scansDir(stateDir)}`, '`palisade scan list` shows the kept scans');
  }
}
