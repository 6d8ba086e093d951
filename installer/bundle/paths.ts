import { PalisadeError } from '../core/errors.ts';

/**
 * Every path inside a bundle is relative, uses "/", and stays inside the bundle.
 * Tar headers and checksums.txt are untrusted input: a path such as
 * "../../etc/cron.d/x" or "/usr/bin/k3s" must never reach the file system.
 */
export function bundlePathProblem(p: string): string | undefined {
  if (p === '') return 'is empty';
  if (p.includes('\0')) return 'contains a NUL byte';
  if (p.includes('\\')) return 'contains a backslash';
  if (p.startsWith('/')) return 'is absolute';
  if (/^[A-Za-z]:/.test(p)) return 'has a drive letter';
  const parts = p.split('/');
  if (parts.some((s) => s === '..')) return 'contains ".."';
  if (parts.some((s) => s === '' || s === '.')) return 'is not in normal form (empty or "." segment)';
  return undefined;
}

/** Strip a leading "./" (tar writes those) and a trailing "/" (directories), then check. */
export function normalizeBundlePath(p: string): string {
  let s = p;
  while (s.startsWith('./')) s = s.slice(2);
  if (s.endsWith('/')) s = s.slice(0, -1);
  return s;
}

export function assertBundlePath(p: string, where: string): string {
  const problem = bundlePathProblem(p);
  if (problem) {
    throw new PalisadeError('bundle.path-escape', `${where}: path ${JSON.stringify(p)} ${problem}; a bundle path must stay inside the bundle`, {
      hint: 'the bundle is damaged or was crafted to write outside its directory: do not use it; get the bundle again from the release',
    });
  }
  return p;
}

/** Does a symlink at `linkPath` with target `target` resolve inside the bundle? */
export function symlinkEscapes(linkPath: string, target: string): boolean {
  if (target.startsWith('/')) return true;
  const stack = linkPath.split('/').slice(0, -1);
  for (const seg of target.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (stack.length === 0) return true;
      stack.pop();
    } else stack.push(seg);
  }
  return false;
}

/** Byte-order comparison, so checksums.txt sorts the same everywhere (no locale). */
export function comparePaths(a: string, b: string): number {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  return Buffer.compare(ba, bb);
}
