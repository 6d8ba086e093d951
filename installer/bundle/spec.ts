import { readFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { usageError, type ErrorDetail } from '../core/errors.ts';

/**
 * The release spec (images/release/*.yaml): which binaries, extra files, OCI
 * layouts and pack directories go into a bundle. Paths are relative to the
 * spec file; "${VAR}" takes a value from the environment (build scripts point
 * at generated content that way).
 */
export const RELEASE_API_VERSION = 'palisade/release/v1';

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be a plain file name (letters, digits, ".", "_", "-")');

export const releaseSpecSchema = z
  .object({
    apiVersion: z.literal(RELEASE_API_VERSION),
    name: z.string().min(1),
    version: z.string().min(1),
    binaries: z
      .array(
        z
          .object({
            source: z.string().min(1).describe('the executable to ship'),
            name: name.optional().describe('default: the source file name'),
            version: z.string().optional(),
          })
          .strict(),
      )
      .default([])
      .describe('executables, placed at bin/<name>'),
    files: z
      .array(
        z
          .object({
            source: z.string().min(1),
            name: name.optional().describe('default: the source file name'),
            dir: z
              .string()
              .regex(/^[a-z0-9][a-z0-9/_-]*$/)
              .default('files')
              .describe('directory in the bundle (default files)'),
          })
          .strict(),
      )
      .default([])
      .describe('other files (for example an images tarball), placed at <dir>/<name>'),
    images: z
      .array(
        z
          .object({
            layout: z.string().min(1).describe('an OCI image layout directory'),
            ref: z.string().optional().describe('one org.opencontainers.image.ref.name of the layout; default: every ref'),
            image: z.string().optional().describe('repository:tag to publish it as; default: the ref name, which must then be repository:tag'),
          })
          .strict(),
      )
      .default([]),
    packs: z
      .array(z.object({ dir: z.string().min(1) }).strict())
      .default([])
      .describe('pack directories (pack.json + values.yaml)'),
  })
  .strict();

export type ReleaseSpec = z.infer<typeof releaseSpecSchema>;

export interface LoadedSpec {
  spec: ReleaseSpec;
  path: string;
  dir: string;
}

export function expandVars(s: string, env: NodeJS.ProcessEnv, where: string): string {
  return s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, v: string) => {
    const val = env[v];
    if (val === undefined || val === '')
      throw usageError('release.var', `${where}: \${${v}} is not set in the environment`, `set ${v}, or write the path in the spec`);
    return val;
  });
}

/** Parse a spec; source paths come back absolute. */
export function parseSpec(text: string, path: string, env: NodeJS.ProcessEnv = process.env): LoadedSpec {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw usageError('release.invalid', `${path} is not valid YAML: ${doc.errors[0]?.message.split('\n')[0]}`);
  const r = releaseSpecSchema.safeParse(doc.toJS());
  if (!r.success) {
    const details: ErrorDetail[] = r.error.issues.map((i) => ({ path: i.path.map(String).join('.') || '(top level)', message: i.message }));
    throw usageError('release.invalid', `${path} has ${details.length} problem(s)`, 'see images/release/README.md for the format', details);
  }
  const dir = dirname(resolve(path));
  // a path written in the spec is relative to the spec; one that comes from a variable, to the working directory
  const abs = (p: string, where: string): string => {
    const e = expandVars(p, env, where);
    if (isAbsolute(e)) return e;
    return p.startsWith('${') ? resolve(e) : resolve(dir, e);
  };
  const s = r.data;
  const spec: ReleaseSpec = {
    ...s,
    binaries: s.binaries.map((b, i) => ({
      ...b,
      source: abs(b.source, `binaries[${i}].source`),
      name: b.name ?? basename(expandVars(b.source, env, `binaries[${i}]`)),
    })),
    files: s.files.map((f, i) => ({ ...f, source: abs(f.source, `files[${i}].source`), name: f.name ?? basename(expandVars(f.source, env, `files[${i}]`)) })),
    images: s.images.map((m, i) => ({ ...m, layout: abs(m.layout, `images[${i}].layout`) })),
    packs: s.packs.map((p, i) => ({ dir: abs(p.dir, `packs[${i}].dir`) })),
  };
  return { spec, path: resolve(path), dir };
}

export async function loadSpec(path: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadedSpec> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw usageError(
      'release.missing',
      `cannot read release spec ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      'the release specs are in images/release/',
    );
  }
  return parseSpec(text, path, env);
}
