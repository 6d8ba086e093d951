import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The lab and the build scripts: small modules, and their shell steps on zx (with time limits),
 * never hand-made process calls through node:child_process.
 */
const repo = resolve(import.meta.dirname, '../..');
const sources = (dir: string): string[] =>
  readdirSync(join(repo, dir))
    .filter((n) => /\.(ts|mjs)$/.test(n))
    .map((n) => join(dir, n));
/** lines of a file; a last line without a newline counts too */
const lineCount = (text: string): number => (text === '' ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0));

describe('scripts/lab.d and scripts/build', () => {
  const files = [...sources('scripts/lab.d'), ...sources('scripts/build')];

  it('found the sources', () => {
    expect(files).toContain('scripts/lab.d/up.ts');
    expect(files).toContain('scripts/build/sea.mjs');
  });

  it('no file in scripts/lab.d is over 400 lines', () => {
    const long = files.filter((f) => f.startsWith('scripts/lab.d/') && lineCount(readFileSync(join(repo, f), 'utf8')) > 400);
    expect(long).toEqual([]);
  });

  it('no file starts a process through node:child_process (zx does)', () => {
    const direct = files.filter((f) =>
      /from\s+['"](node:)?child_process['"]|import\(\s*['"](node:)?child_process['"]/.test(readFileSync(join(repo, f), 'utf8')),
    );
    expect(direct).toEqual([]);
  });
});
