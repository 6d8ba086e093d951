import { IANAZone } from 'luxon';
import type { ErrorDetail } from '../core/errors.ts';

/**
 * Time-zone names in palisade.yaml: IANA names only ("Europe/Berlin"), so a
 * window means the same wall-clock time on every machine; a typo gets the
 * nearest real name as its hint.
 */
export function isZone(name: string): boolean {
  return IANAZone.isValidZone(name);
}

let known: string[] | undefined;
function zoneNames(): string[] {
  known ??= [...Intl.supportedValuesOf('timeZone'), 'UTC', 'Etc/UTC'];
  return known;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** The closest IANA name, when one is close enough to be what was meant. */
export function suggestZone(name: string): string | undefined {
  const lower = name.toLowerCase().replace(/ /g, '_');
  let best: { name: string; d: number } | undefined;
  for (const z of zoneNames()) {
    const zl = z.toLowerCase();
    const d = zl === lower ? 0 : Math.min(distance(lower, zl), zl.endsWith(`/${lower}`) ? 1 : Infinity);
    if (!best || d < best.d) best = { name: z, d };
  }
  return best && best.d <= Math.max(2, Math.floor(name.length / 4)) ? best.name : undefined;
}

/** Config problems for maintenanceWindows[i].timezone. */
export function windowZoneProblems(windows: ReadonlyArray<{ timezone?: unknown }>): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  windows.forEach((w, i) => {
    if (typeof w?.timezone !== 'string' || isZone(w.timezone)) return;
    const s = suggestZone(w.timezone);
    out.push({
      path: `maintenanceWindows[${i}].timezone`,
      message: `"${w.timezone}" is not an IANA time zone`,
      hint: s ? `did you mean "${s}"?` : 'use an IANA name like "Europe/Berlin" or "UTC" (see /usr/share/zoneinfo)',
    });
  });
  return out;
}
