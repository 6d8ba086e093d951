import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { listResources, readResource } from '../core/build-info.ts';
import type { KubeObject } from './types.ts';

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

/**
 * Every manifest (sorted by file name; the namespace first): the program's own manifests/
 * (embedded in the single executable), or the .yaml files of `dir` when given.
 */
export async function renderManifests(values: Readonly<Record<string, string>>, dir?: string): Promise<KubeObject[]> {
  const names = dir === undefined ? listResources('manifests') : await readdir(dir);
  const files = names.filter((f) => f.endsWith('.yaml')).sort((a, b) => (a === 'namespace.yaml' ? -1 : b === 'namespace.yaml' ? 1 : a.localeCompare(b)));
  const out: KubeObject[] = [];
  for (const f of files) {
    const text = dir === undefined ? readResource(`manifests/${f}`) : await readFile(join(dir, f), 'utf8');
    out.push(...renderTemplate(text, values, f));
  }
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
