import { lstat, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments, parseDocument } from 'yaml';
import { z } from 'zod';
import { parseConstraint, parseSemver, satisfies } from './semver.ts';
import { PalisadeError, type ErrorDetail } from '../../core/errors.ts';
import { comparePaths } from '../paths.ts';

/**
 * A pack: one layer of a cluster profile (os, k8s, cni, csi, addon), as a
 * directory with pack.json, values.yaml and optional manifests/.
 */
export const PACK_LAYERS = ['os', 'k8s', 'cni', 'csi', 'addon'] as const;

export const packJsonSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'must be lowercase letters, digits and "-" (a DNS label)'),
    displayName: z.string().min(1, 'must not be empty'),
    version: z.string().refine((s) => parseSemver(s) !== undefined, 'must be a semantic version like 1.14.5 or 2.0.0-rc.1'),
    layer: z.enum(PACK_LAYERS),
    description: z.string().optional(),
    dependencies: z
      .array(
        z
          .object({
            name: z.string().min(1),
            version: z.string().refine((s) => parseConstraint(s) !== undefined, 'must be a version constraint like ">=1.2.0 <2.0.0", "^1.14" or "~1.2.3"'),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();

export type PackJson = z.infer<typeof packJsonSchema>;

export interface PackFile {
  /** path inside the pack, "/"-separated */
  path: string;
  data: Buffer;
  mode: number;
}

export interface LoadedPack {
  dir: string;
  meta: PackJson;
  /** every file of the pack, sorted by path */
  files: PackFile[];
}

const MAX_PACK_BYTES = 256 << 20;

function packError(dir: string, details: ErrorDetail[]): PalisadeError {
  return new PalisadeError('pack.invalid', `pack ${dir} has ${details.length} problem(s)`, {
    hint: 'fix each file listed above, then run `palisade pack validate` again',
    exitCode: 2,
    details,
  });
}

async function walk(dir: string, rel = ''): Promise<PackFile[]> {
  const out: PackFile[] = [];
  const dirents = await readdir(rel ? join(dir, rel) : dir, { withFileTypes: true });
  for (const d of dirents.sort((a, b) => comparePaths(a.name, b.name))) {
    const p = rel ? `${rel}/${d.name}` : d.name;
    if (d.isSymbolicLink()) throw packError(dir, [{ path: p, message: 'is a symlink; packs hold regular files only', hint: 'copy the file into the pack' }]);
    if (d.isDirectory()) out.push(...(await walk(dir, p)));
    else if (d.isFile()) {
      const st = await lstat(join(dir, p));
      out.push({ path: p, data: await readFile(join(dir, p)), mode: st.mode & 0o111 ? 0o755 : 0o644 });
    }
  }
  return out;
}

const yamlPos = (e: { linePos?: [{ line: number; col: number }, ...unknown[]] }): string =>
  e.linePos ? ` (line ${e.linePos[0].line}, column ${e.linePos[0].col})` : '';

/** Read and validate a pack directory; every problem is reported at once. */
export async function loadPack(dir: string): Promise<LoadedPack> {
  let files: PackFile[];
  try {
    files = await walk(dir);
  } catch (e) {
    if (e instanceof PalisadeError) throw e;
    throw new PalisadeError('pack.not-found', `cannot read pack directory ${dir} (${(e as NodeJS.ErrnoException).code ?? 'error'})`, { exitCode: 2 });
  }
  const problems: ErrorDetail[] = [];
  const total = files.reduce((n, f) => n + f.data.length, 0);
  if (total > MAX_PACK_BYTES)
    problems.push({
      path: dir,
      message: `the pack is ${total} bytes; the limit is ${MAX_PACK_BYTES}`,
      hint: 'ship large content (images) as images, not inside a pack',
    });
  const byPath = new Map(files.map((f) => [f.path, f]));

  let meta: PackJson | undefined;
  const pj = byPath.get('pack.json');
  if (!pj) problems.push({ path: 'pack.json', message: 'is missing', hint: 'every pack has a pack.json with name, displayName, version and layer' });
  else {
    let raw: unknown;
    try {
      raw = JSON.parse(pj.data.toString('utf8'));
    } catch (e) {
      problems.push({ path: 'pack.json', message: `is not valid JSON: ${(e as Error).message}` });
    }
    if (raw !== undefined) {
      const r = packJsonSchema.safeParse(raw);
      if (r.success) meta = r.data;
      else {
        for (const i of r.error.issues) {
          const field = i.path
            .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
            .join('')
            .replace(/^\./, '');
          let message = i.message;
          if (i.code === 'invalid_type' && (i as { input?: unknown }).input === undefined) message = 'is required';
          if (i.code === 'unrecognized_keys') message = `unknown field(s) ${i.keys.join(', ')}`;
          problems.push({ path: `pack.json: ${field || '(top level)'}`, message });
        }
      }
    }
  }

  const values = byPath.get('values.yaml');
  if (!values) problems.push({ path: 'values.yaml', message: 'is missing', hint: 'add a values.yaml (it may be an empty mapping: {})' });
  else {
    const doc = parseDocument(values.data.toString('utf8'), { prettyErrors: true });
    if (doc.errors.length > 0)
      for (const e of doc.errors)
        problems.push({
          path: `values.yaml${yamlPos(e as never)}`,
          message: (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, ''),
        });
    else {
      const v: unknown = doc.toJS();
      if (v !== null && v !== undefined && (typeof v !== 'object' || Array.isArray(v)))
        problems.push({ path: 'values.yaml', message: 'must be a mapping of keys to values' });
    }
  }

  for (const f of files.filter((x) => x.path.startsWith('manifests/'))) {
    if (!/\.ya?ml$/.test(f.path)) continue;
    const docs = parseAllDocuments(f.data.toString('utf8'));
    const list = Array.isArray(docs) ? docs : [docs];
    list.forEach((doc, i) => {
      if (doc.errors.length > 0) {
        for (const e of doc.errors)
          problems.push({
            path: `${f.path}${yamlPos(e as never)}`,
            message: (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, ''),
          });
        return;
      }
      const obj = doc.toJS() as { apiVersion?: unknown; kind?: unknown } | null;
      if (obj === null || obj === undefined) return;
      if (typeof obj !== 'object' || typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') {
        problems.push({ path: `${f.path} (document ${i + 1})`, message: 'is not a Kubernetes object: apiVersion and kind are required' });
      }
    });
  }

  if (problems.length > 0 || !meta) throw packError(dir, problems);
  return { dir, meta, files };
}

/** In the registry a pack lives at packs/<name>:<version>; "+" is not allowed in tags, so it becomes "_" (as Helm does). */
export const packRepository = (name: string): string => `packs/${name}`;
export const packTag = (version: string): string => version.replace(/\+/g, '_');

/** Every dependency of every pack must be met by a pack of the same set (one bundle ships a consistent profile). */
export function dependencyProblems(packs: readonly PackJson[]): ErrorDetail[] {
  const problems: ErrorDetail[] = [];
  for (const p of packs) {
    for (const d of p.dependencies) {
      const c = parseConstraint(d.version);
      const candidates = packs.filter((q) => q.name === d.name);
      if (candidates.length === 0)
        problems.push({
          path: `${p.name}@${p.version}`,
          message: `depends on ${d.name} ${d.version}, which is not in the bundle`,
          hint: `add a ${d.name} pack to the release spec`,
        });
      else if (!c || !candidates.some((q) => satisfies(q.version, c))) {
        problems.push({
          path: `${p.name}@${p.version}`,
          message: `depends on ${d.name} ${d.version}, but the bundle has ${candidates.map((q) => q.version).join(', ')}`,
        });
      }
    }
  }
  return problems;
}
