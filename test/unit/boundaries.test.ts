import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The installer's folders depend on each other in one direction only: the
 * imports of every file (static, dynamic and type-only) as edges between the
 * top-level folders of installer/, and no cycle among them.
 */
const root = resolve(import.meta.dirname, '../../installer');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** the top-level folder of installer/ a file is in ('' for installer/ itself) */
const folderOf = (file: string): string => {
  const parts = relative(root, file).split('/');
  return parts.length > 1 ? parts[0]! : '';
};

function folderEdges(): Map<string, Map<string, string>> {
  const edges = new Map<string, Map<string, string>>();
  for (const f of files(root)) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^import\s+)'(\.{1,2}\/[^']+)'/gm)) {
      const target = normalize(join(dirname(f), m[1]!));
      const a = folderOf(f);
      const b = folderOf(target);
      if (!a || !b || a === b) continue;
      if (!edges.has(a)) edges.set(a, new Map());
      if (!edges.get(a)!.has(b)) edges.get(a)!.set(b, relative(root, f));
    }
  }
  return edges;
}

/** every cycle, as the folders in order and the file that makes each step */
function folderCycles(edges: Map<string, Map<string, string>>): string[] {
  const cycles: string[] = [];
  const seen = new Set<string>();
  const visit = (node: string, path: string[]): void => {
    const at = path.indexOf(node);
    if (at >= 0) {
      const loop = [...path.slice(at), node];
      const key = [...loop.slice(0, -1)].sort().join(',');
      if (!seen.has(key)) {
        seen.add(key);
        cycles.push(loop.map((n, i) => (i + 1 < loop.length ? `${n} (${edges.get(n)!.get(loop[i + 1]!)})` : n)).join(' -> '));
      }
      return;
    }
    if (path.length > 30) return;
    for (const next of edges.get(node)?.keys() ?? []) visit(next, [...path, node]);
  };
  for (const start of edges.keys()) visit(start, []);
  return cycles;
}

describe('module boundaries', () => {
  it('the folders of installer/ import each other without a cycle', () => {
    const edges = folderEdges();
    expect(edges.size).toBeGreaterThan(5); // the scan found the imports
    expect(folderCycles(edges)).toEqual([]);
  });

  it('a cycle is found and named', () => {
    const edges = new Map([
      ['a', new Map([['b', 'a/x.ts']])],
      ['b', new Map([['c', 'b/y.ts']])],
      ['c', new Map([['a', 'c/z.ts']])],
    ]);
    expect(folderCycles(edges)).toEqual(['a (a/x.ts) -> b (b/y.ts) -> c (c/z.ts) -> a']);
  });
});

/** lines of a file; a last line without a newline counts too */
const lineCount = (text: string): number => (text === '' ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0));

describe('file size', () => {
  it('no file in installer/ is over 400 lines', () => {
    const all = files(root);
    expect(all.length).toBeGreaterThan(50); // the scan found the sources
    const long = all.map((f) => ({ file: relative(root, f), lines: lineCount(readFileSync(f, 'utf8')) })).filter((x) => x.lines > 400);
    expect(long).toEqual([]);
  });

  it('lines are counted with or without a final newline', () => {
    expect(lineCount('a\nb\n')).toBe(2);
    expect(lineCount('a\nb')).toBe(2);
    expect(lineCount('')).toBe(0);
  });
});
