import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from './types.ts';

/** manifests/ at the repository root */
export const MANIFESTS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'manifests');

/** Fill `{{ name }}` placeholders (JSON-escaped, so a value cannot break out of its quotes); an unknown name is an error. */
export function renderTemplate(text: string, values: Readonly<Record<string, string>>, where = 'template'): KubeObject[] {
  const filled = text.replace(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g, (_m, k: string) => {
    const v = values[k];
    if (v === undefined) throw new Error(`${where}: no value for {{ ${k} }}`);
    return JSON.stringify(v).slice(1, -1);
  });
  return parseAllDocuments(filled)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => !!o);
}

/** Every manifest of the directory (sorted by file name; the namespace first). */
export async function renderManifests(values: Readonly<Record<string, string>>, dir = MANIFESTS_DIR): Promise<KubeObject[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort((a, b) => (a === 'namespace.yaml' ? -1 : b === 'namespace.yaml' ? 1 : a.localeCompare(b)));
  const out: KubeObject[] = [];
  for (const f of files) out.push(...renderTemplate(await readFile(join(dir, f), 'utf8'), values, f));
  return out;
}

export const b64 = (s: string): string => Buffer.from(s).toString('base64');

/** Does the live object carry the data (and type) we want? */
export function objectMatches(want: KubeObject, live: KubeObject | undefined): boolean {
  if (!live) return false;
  // the API server returns map keys sorted: compare without regard to order
  const sorted = (o: unknown) => JSON.stringify(Object.entries((o ?? {}) as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const eq = (a: unknown, b: unknown) => sorted(a) === sorted(b);
  return eq(want.data, live.data) && (want.type === undefined || want.type === live.type) && eq(want.metadata.annotations, live.metadata.annotations);
}
