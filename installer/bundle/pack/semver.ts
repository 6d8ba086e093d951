/**
 * The part of semantic versioning packs need: parse, compare, and constraints
 * such as ">=1.2.0 <2.0.0", "^1.14", "~1.2.3", "1.2.x", "*", joined with "||".
 */
export interface SemVer {
  major: number;
  minor: number;
  patch: number;
  prerelease: string[];
}

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;

export function parseSemver(s: string): SemVer | undefined {
  const m = SEMVER.exec(s);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), prerelease: m[4] ? m[4].split('.') : [] };
}

function comparePre(a: string[], b: string[]): number {
  if (a.length === 0 || b.length === 0) return a.length === b.length ? 0 : a.length === 0 ? 1 : -1;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^\d+$/.test(x);
    const ny = /^\d+$/.test(y);
    if (nx && ny) {
      const d = Number(x) - Number(y);
      if (d !== 0) return Math.sign(d);
    } else if (nx !== ny) return nx ? -1 : 1;
    else if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

export function compareSemver(a: SemVer, b: SemVer): number {
  return Math.sign(a.major - b.major) || Math.sign(a.minor - b.minor) || Math.sign(a.patch - b.patch) || comparePre(a.prerelease, b.prerelease);
}

type Op = '>' | '>=' | '<' | '<=' | '=';
interface Comparator {
  op: Op;
  v: SemVer;
}

const v = (major: number, minor: number, patch: number, prerelease: string[] = []): SemVer => ({ major, minor, patch, prerelease });

/** A partial version "1", "1.2", "1.2.x", "1.2.3-rc.1"; undefined parts are wildcards. */
function partial(s: string): { major?: number; minor?: number; patch?: number; pre: string[] } | undefined {
  const m = /^v?(\*|x|X|\d+)(?:\.(\*|x|X|\d+))?(?:\.(\*|x|X|\d+))?(?:-([0-9A-Za-z.-]+))?$/.exec(s);
  if (!m) return undefined;
  const num = (x: string | undefined): number | undefined => (x === undefined || /^[*xX]$/.test(x) ? undefined : Number(x));
  const major = num(m[1]);
  const minor = major === undefined ? undefined : num(m[2]);
  const patch = minor === undefined ? undefined : num(m[3]);
  return { major, minor, patch, pre: m[4] ? m[4].split('.') : [] };
}

function comparators(token: string): Comparator[] | undefined {
  const m = /^(\^|~|>=|<=|>|<|=)?(.+)$/.exec(token);
  if (!m) return undefined;
  const op = m[1] ?? '';
  const p = partial(m[2] as string);
  if (!p) return undefined;
  const { major, minor, patch, pre } = p;
  if (major === undefined) return op === '' || op === '=' || op === '>=' ? [] : undefined;
  const lo = v(major, minor ?? 0, patch ?? 0, pre);
  switch (op) {
    case '^': {
      const hi = major > 0 || minor === undefined ? v(major + 1, 0, 0) : minor > 0 || patch === undefined ? v(0, minor + 1, 0) : v(0, 0, (patch ?? 0) + 1);
      return [
        { op: '>=', v: lo },
        { op: '<', v: hi },
      ];
    }
    case '~':
      return [
        { op: '>=', v: lo },
        { op: '<', v: minor === undefined ? v(major + 1, 0, 0) : v(major, minor + 1, 0) },
      ];
    case '':
    case '=':
      if (minor === undefined)
        return [
          { op: '>=', v: lo },
          { op: '<', v: v(major + 1, 0, 0) },
        ];
      if (patch === undefined)
        return [
          { op: '>=', v: lo },
          { op: '<', v: v(major, minor + 1, 0) },
        ];
      return [{ op: '=', v: lo }];
    case '>':
      if (minor === undefined) return [{ op: '>=', v: v(major + 1, 0, 0) }];
      if (patch === undefined) return [{ op: '>=', v: v(major, minor + 1, 0) }];
      return [{ op: '>', v: lo }];
    case '<=':
      if (minor === undefined) return [{ op: '<', v: v(major + 1, 0, 0) }];
      if (patch === undefined) return [{ op: '<', v: v(major, minor + 1, 0) }];
      return [{ op: '<=', v: lo }];
    default:
      return [{ op: op as Op, v: lo }];
  }
}

export interface Constraint {
  /** OR of ANDs */
  sets: Comparator[][];
  text: string;
}

export function parseConstraint(text: string): Constraint | undefined {
  const sets: Comparator[][] = [];
  for (const alt of text.split('||')) {
    const tokens = alt
      .trim()
      .replace(/(>=|<=|>|<|=|\^|~)\s+/g, '$1')
      .split(/\s+/)
      .filter(Boolean);
    if (tokens.length === 0) return undefined;
    const set: Comparator[] = [];
    for (const t of tokens) {
      const c = comparators(t);
      if (!c) return undefined;
      set.push(...c);
    }
    sets.push(set);
  }
  return { sets, text };
}

function test(c: Comparator, ver: SemVer): boolean {
  const d = compareSemver(ver, c.v);
  switch (c.op) {
    case '>':
      return d > 0;
    case '>=':
      return d >= 0;
    case '<':
      return d < 0;
    case '<=':
      return d <= 0;
    case '=':
      return d === 0;
  }
}

/** Pre-releases satisfy a range only when a comparator names the same major.minor.patch with a pre-release (npm's rule). */
export function satisfies(version: string, constraint: Constraint): boolean {
  const ver = parseSemver(version);
  if (!ver) return false;
  return constraint.sets.some((set) => {
    if (!set.every((c) => test(c, ver))) return false;
    if (ver.prerelease.length === 0) return true;
    return set.some((c) => c.v.prerelease.length > 0 && c.v.major === ver.major && c.v.minor === ver.minor && c.v.patch === ver.patch);
  });
}
