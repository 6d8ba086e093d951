/**
 * "Did you mean …?": the nearest known name to a mistyped one, for config fields,
 * enum values and command names. Pure; no I/O.
 */

/** Edit distance with adjacent transpositions (fdqn → fqdn is one edit). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The known name closest to `input`, or undefined when none is close enough to be
 * a plausible typo. Case differences count as no edit (podCIDR → podCidr), and a
 * known name that starts with the input's stem counts as close
 * (connectTimeoutSecs → connectTimeoutSeconds).
 */
export function nearestName(input: string, known: readonly string[]): string | undefined {
  const lower = input.toLowerCase();
  let best: { name: string; score: number } | undefined;
  for (const name of known) {
    if (name === input) return undefined;
    const n = name.toLowerCase();
    let score = editDistance(lower, n);
    const stem = lower.slice(0, Math.max(4, lower.length - 2));
    if (stem.length >= 6 && n.startsWith(stem)) score = Math.min(score, 1.5);
    if (!best || score < best.score) best = { name, score };
  }
  if (!best) return undefined;
  const limit = Math.max(1, Math.min(3, Math.floor(input.length / 3)));
  return best.score <= limit ? best.name : undefined;
}

/** ' (did you mean `fqdn`?)' or '' */
export function didYouMean(input: string, known: readonly string[]): string {
  const near = nearestName(input, known);
  return near ? ` (did you mean \`${near}\`?)` : '';
}
