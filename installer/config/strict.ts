/**
 * Strictness for every section of palisade.yaml, whatever its zod definition: a field
 * the schema does not know is an error at any depth (with the nearest known name), a
 * section written with only a comment under it (`bundle:` → null) counts as absent,
 * and the JSON Schema says `additionalProperties: false` on every object. A new
 * section gets all of this by being in the schema; nothing here names a section.
 * Pure: walks zod definitions and plain data only.
 */
import { z } from 'zod';
import type { ErrorDetail } from '../core/errors.ts';
import { nearestName } from '../core/suggest.ts';

type Path = ReadonlyArray<string | number>;

interface Def {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  getter?: () => z.ZodType;
  shape?: Record<string, z.ZodType>;
  catchall?: z.ZodType;
  element?: z.ZodType;
  options?: z.ZodType[];
  valueType?: z.ZodType;
  items?: z.ZodType[];
  left?: z.ZodType;
  right?: z.ZodType;
}

const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** The schema a value is checked against, through optional/default/nullable/pipe/lazy wrappers. */
function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (let i = 0; i < 32; i++) {
    const d = defOf(s);
    if (d.innerType) s = d.innerType;
    else if (d.type === 'pipe' && d.in) s = d.in;
    else if (d.type === 'lazy' && d.getter) s = d.getter();
    else return s;
  }
  return s;
}

/** The object shapes a value may match here (one for an object, several for a union of objects). */
function objectShapes(schema: z.ZodType): Array<{ shape: Record<string, z.ZodType>; open: boolean }> {
  const s = unwrap(schema);
  const d = defOf(s);
  if (d.type === 'object' && d.shape) {
    const catchType = d.catchall ? defOf(d.catchall).type : 'never';
    return [{ shape: d.shape, open: catchType !== 'never' && d.catchall !== undefined }];
  }
  if (d.type === 'union' && d.options) return d.options.flatMap(objectShapes);
  if (d.type === 'intersection' && d.left && d.right) {
    const parts = [...objectShapes(d.left), ...objectShapes(d.right)];
    return parts.length ? [{ shape: Object.assign({}, ...parts.map((p) => p.shape)), open: parts.some((p) => p.open) }] : [];
  }
  return [];
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The schemas the members of an array or record value are checked against. */
function memberSchema(schema: z.ZodType, key: string | number): z.ZodType | undefined {
  const d = defOf(unwrap(schema));
  if (d.type === 'array') return d.element;
  if (d.type === 'record') return d.valueType;
  if (d.type === 'tuple' && typeof key === 'number') return d.items?.[key];
  return undefined;
}

function formatPath(path: Path): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${p}` : p;
  return out || '(top level)';
}

/** Every field in `raw` the schema does not know, with its path and the nearest known name. */
export function unknownFields(schema: z.ZodType, raw: unknown, path: Path = []): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  if (Array.isArray(raw)) {
    raw.forEach((v, i) => {
      const m = memberSchema(schema, i);
      if (m) out.push(...unknownFields(m, v, [...path, i]));
    });
    return out;
  }
  if (!isPlainObject(raw)) return out;
  const shapes = objectShapes(schema);
  if (shapes.length === 0) {
    const m = memberSchema(schema, '');
    if (m) for (const [k, v] of Object.entries(raw)) out.push(...unknownFields(m, v, [...path, k]));
    return out;
  }
  if (shapes.some((s) => s.open)) return out;
  const known = [...new Set(shapes.flatMap((s) => Object.keys(s.shape)))];
  for (const [key, value] of Object.entries(raw)) {
    const field = shapes.find((s) => key in s.shape)?.shape[key];
    if (!field) {
      const near = nearestName(key, known);
      out.push({
        path: formatPath([...path, key]),
        message: `unknown field "${key}"${near ? ` (did you mean \`${near}\`?)` : ''}`,
        hint: near ? `rename it to ${near}` : `remove it; the fields here are: ${known.join(', ')}`,
      });
      continue;
    }
    out.push(...unknownFields(field, value, [...path, key]));
  }
  return out;
}

/**
 * A section written with only a comment under it (`bundle:`) parses as null: drop
 * those, and only those. A null where a value belongs (`port: null`) stays, so the
 * schema refuses it instead of quietly using the default.
 */
export function dropEmptySections(schema: z.ZodType, raw: unknown): unknown {
  if (Array.isArray(raw))
    return raw.map((v, i) => {
      const m = memberSchema(schema, i);
      return m ? dropEmptySections(m, v) : v;
    });
  if (!isPlainObject(raw)) return raw;
  const shapes = objectShapes(schema);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    const field = shapes.find((s) => key in s.shape)?.shape[key] ?? (shapes.length === 0 ? memberSchema(schema, key) : undefined);
    if (value === null && field && objectShapes(field).length > 0) continue;
    out[key] = field ? dropEmptySections(field, value) : value;
  }
  return out;
}

/**
 * The JSON Schema of a config schema: standard draft 2020-12 keywords only, and
 * `additionalProperties: false` on every object that does not declare otherwise,
 * matching what validation enforces.
 */
export function strictJsonSchema(schema: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
    override: (ctx) => {
      const js = ctx.jsonSchema as Record<string, unknown>;
      if (js.type === 'object' && js.properties && js.additionalProperties === undefined) js.additionalProperties = false;
      if (typeof js.format === 'string' && !STANDARD_FORMATS.has(js.format)) delete js.format;
    },
  }) as Record<string, unknown>;
}

/** The formats JSON Schema 2020-12 defines; anything else a strict validator refuses. */
const STANDARD_FORMATS = new Set([
  'date-time',
  'date',
  'time',
  'duration',
  'email',
  'idn-email',
  'hostname',
  'idn-hostname',
  'ipv4',
  'ipv6',
  'uri',
  'uri-reference',
  'iri',
  'iri-reference',
  'uuid',
  'uri-template',
  'json-pointer',
  'relative-json-pointer',
  'regex',
]);
