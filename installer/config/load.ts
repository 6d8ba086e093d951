import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { configSchema, encryptionSchema, type PalisadeConfig } from './schema.ts';
import { semanticProblems } from './semantic.ts';
import { dropEmptySections, unknownFields } from './strict.ts';
import { usageError, type ErrorDetail } from '../core/errors.ts';
import { nearestName } from '../core/suggest.ts';
import { DEFAULT_CONFIG_PATH } from './paths.ts';
export { DEFAULT_CONFIG_PATH, resolveConfigPath } from './paths.ts';

export interface LoadedConfig {
  config: PalisadeConfig;
  /** absolute path of the file */
  path: string;
  /** directory relative paths in the file are resolved against */
  baseDir: string;
}

/** `hosts[2].port` from ['hosts', 2, 'port'] */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out || '(top level)';
}

function hintFor(issue: z.core.$ZodIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? 'add this field' : `write a ${issue.expected} here`;
    case 'invalid_value': {
      const near =
        typeof issue.input === 'string'
          ? nearestName(
              issue.input,
              issue.values.filter((v): v is string => typeof v === 'string'),
            )
          : undefined;
      return `${near ? `did you mean \`${near}\`? ` : ''}use one of: ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    }
    case 'too_small':
    case 'too_big':
      return 'change the value to fit the limit';
    default:
      return undefined;
  }
}

const typeName = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v);

/** zod's issues as problems; unknown fields are left to unknownFields(), which covers every depth. */
export function schemaProblems(error: z.ZodError): ErrorDetail[] {
  return error.issues
    .filter((issue) => issue.code !== 'unrecognized_keys')
    .map((issue) => {
      let message = issue.message;
      if (issue.code === 'invalid_type') message = issue.input === undefined ? 'is required' : `expected ${issue.expected}, got ${typeName(issue.input)}`;
      if (issue.code === 'invalid_value' && typeof issue.input === 'string')
        message = `"${issue.input}" is not one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
      const hint = hintFor(issue);
      return { path: formatPath(issue.path), message, ...(hint ? { hint } : {}) };
    });
}

/**
 * The raw document seen through the config type with every ill-formed part dropped,
 * for semantic checks on a file that failed the schema.
 */
function looseView(raw: unknown): PalisadeConfig {
  const r = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  const hosts = Array.isArray(r.hosts) ? r.hosts : [];
  const obj = (v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const enc = encryptionSchema.safeParse(r.encryption ?? {});
  const sizing = obj(r.sizing);
  return {
    hosts: hosts.map((h) => {
      const o = obj(h);
      const henc = encryptionSchema.partial().safeParse(o.encryption ?? {});
      return {
        name: str(o.name) ?? '',
        address: str(o.address) ?? '',
        port: typeof o.port === 'number' ? o.port : 22,
        role: o.role === 'controller' || o.role === 'worker' ? o.role : undefined,
        privateKey: str(o.privateKey),
        viaJumpHost: o.viaJumpHost === true,
        dataDisk: str(o.dataDisk),
        encryption: henc.success && o.encryption ? henc.data : undefined,
      };
    }),
    jumpHost: r.jumpHost ? { privateKey: str(obj(r.jumpHost).privateKey) } : undefined,
    sizing: { profile: str(sizing.profile) ?? 'small', custom: sizing.custom },
    registry: { host: str(obj(r.registry).host) },
    encryption: enc.success ? enc.data : encryptionSchema.parse({}),
  } as unknown as PalisadeConfig;
}

/** Aliases are expanded by toJS: more than this many is a resource-exhaustion document (a "billion laughs"), not a config. */
const MAX_ALIASES = 100;

/**
 * A field reported as required whose misspelling is reported as unknown
 * (`cluster.fdqn` → did you mean `fqdn`?) is one mistake: keep the unknown-field line.
 */
function withoutRequiredTypos(problems: ErrorDetail[]): ErrorDetail[] {
  const suggested = new Set<string>();
  for (const p of problems) {
    const m = /did you mean `([^`]+)`/.exec(p.message);
    if (m && p.path) suggested.add(p.path.replace(/(\.|^)[^.[\]]+$/, (_all, dot: string) => `${dot}${m[1]}`));
  }
  return problems.filter((p) => !(p.message === 'is required' && p.path && suggested.has(p.path)));
}

/** Parse and validate config text; throws one usage error listing every problem. */
export async function parseConfig(text: string, path: string): Promise<LoadedConfig> {
  const abs = resolve(path);
  const baseDir = dirname(abs);
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw usageError(
      'config.yaml',
      `${path} is not valid YAML`,
      'fix the YAML syntax at the line shown (indentation uses spaces, not tabs)',
      doc.errors.map((e) => ({
        path: e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : path,
        message: e.message.split('\n')[0] ?? e.message,
      })),
    );
  }
  let js: unknown;
  try {
    js = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (e) {
    throw usageError(
      'config.yaml',
      `${path} expands too many YAML aliases (more than ${MAX_ALIASES}): refused as a resource-exhaustion document`,
      'write the values out instead of nesting aliases (*name) of aliases',
      [{ path, message: e instanceof Error ? e.message : String(e) }],
    );
  }
  const raw: unknown = dropEmptySections(configSchema, js ?? {});
  const parsed = configSchema.safeParse(raw, { reportInput: true });
  // Semantic checks also run on a file the schema rejected, on the parts that are
  // well-formed, so the operator sees every problem in one pass.
  const problems = withoutRequiredTypos([
    ...unknownFields(configSchema, raw),
    ...(parsed.success ? [] : schemaProblems(parsed.error)),
    ...(await semanticProblems(parsed.success ? parsed.data : looseView(raw), baseDir)),
  ]);
  if (!parsed.success || problems.length > 0) {
    throw usageError(
      'config.invalid',
      `${path} has ${problems.length} problem(s)`,
      'correct each field listed above, then run `palisade validate` again',
      problems,
    );
  }
  return { config: parsed.data, path: abs, baseDir };
}

export async function loadConfig(path = DEFAULT_CONFIG_PATH): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw usageError(
      'config.missing',
      code === 'ENOENT' ? `config file ${path} does not exist` : `cannot read config file ${path} (${code ?? 'error'})`,
      code === 'ENOENT' ? 'run `palisade init` to write one, or pass -c FILE' : 'check the path and its permissions',
    );
  }
  return parseConfig(text, path);
}
