import type { Finding, ScanResult } from './types.ts';

/**
 * Two results of the same scan type, compared by check and host: what newly
 * fails, what was fixed (failed before, not now), what still fails. Pure.
 */
export interface ScanDiff {
  from: string;
  to: string;
  newlyFailing: Finding[];
  fixed: Finding[];
  stillFailing: Finding[];
}

const key = (f: Finding) => `${f.host}\u0000${f.check}`;

export function diffScans(a: ScanResult, b: ScanResult): ScanDiff {
  const failA = new Map(a.findings.filter((f) => f.status === 'fail').map((f) => [key(f), f]));
  const failB = new Map(b.findings.filter((f) => f.status === 'fail').map((f) => [key(f), f]));
  const sort = (xs: Finding[]) => xs.sort((x, y) => x.host.localeCompare(y.host) || x.check.localeCompare(y.check));
  return {
    from: a.id,
    to: b.id,
    newlyFailing: sort([...failB].filter(([k]) => !failA.has(k)).map(([, f]) => f)),
    fixed: sort([...failA].filter(([k]) => !failB.has(k)).map(([, f]) => f)),
    stillFailing: sort([...failB].filter(([k]) => failA.has(k)).map(([, f]) => f)),
  };
}
