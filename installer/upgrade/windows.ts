import { DateTime, IANAZone } from 'luxon';
import type { PalisadeConfig } from '../config/schema.ts';

/**
 * Maintenance windows as instants: each configured window is wall-clock time
 * in its IANA zone (days, start HH:MM) lasting an elapsed duration. Luxon does
 * the zone arithmetic; this module only decides the two DST edge cases
 * (a start in a skipped hour begins at the first valid instant after it, an
 * ambiguous start is its first occurrence) and merges overlapping or touching
 * windows. Pure: the clock is an argument.
 */
export type WindowConfig = PalisadeConfig['maintenanceWindows'][number];

export interface Window {
  /** UTC milliseconds */
  start: number;
  end: number;
  /** the zone of the configured window that opens it (for display) */
  zone: string;
}

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const MINUTE = 60_000;
const DAY = 86_400_000;

/** "4h", "90m", "1h30m" → milliseconds; undefined when it is not one of those. */
export function parseDuration(s: string): number | undefined {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?$/.exec(s.trim());
  if (!m || (m[1] === undefined && m[2] === undefined)) return undefined;
  return (Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * MINUTE;
}

const offsetAt = (ms: number, zone: string): number => DateTime.fromMillis(ms, { zone }).offset;

/**
 * The instant a wall-clock time in a zone begins: the earlier of two when the
 * clock falls back through it, the end of the gap when the clock springs over it.
 */
export function wallClockInstant(zone: string, y: number, mo: number, d: number, h: number, mi: number): number {
  const wall = Date.UTC(y, mo - 1, d, h, mi);
  // the zone's offsets around that day (a zone changes at most once in three days)
  const offsets = [...new Set([offsetAt(wall - 1.5 * DAY, zone), offsetAt(wall, zone), offsetAt(wall + 1.5 * DAY, zone)])];
  const valid = offsets.map((o) => wall - o * MINUTE).filter((t) => offsetAt(t, zone) * MINUTE === wall - t);
  if (valid.length) return Math.min(...valid);
  // in a gap: the clock jumps from before it to after it at one instant; find it
  let lo = wall - Math.max(...offsets) * MINUTE; // before the change (read with the later offset)
  let hi = wall - Math.min(...offsets) * MINUTE; // after it (read with the earlier offset)
  const after = offsetAt(hi, zone);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (offsetAt(mid, zone) === after) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** Every window of one configured entry that starts on a local date in [fromDay, toDay] (zone dates). */
function occurrences(w: WindowConfig, fromMs: number, toMs: number): Window[] {
  const duration = parseDuration(w.duration);
  if (duration === undefined || !IANAZone.isValidZone(w.timezone)) return [];
  const [hh, mm] = w.start.split(':').map(Number) as [number, number];
  const out: Window[] = [];
  let day = DateTime.fromMillis(fromMs, { zone: w.timezone }).startOf('day');
  const last = DateTime.fromMillis(toMs, { zone: w.timezone }).startOf('day');
  const days = new Set(w.days);
  while (day <= last) {
    if (days.has(WEEKDAYS[day.weekday - 1]!)) {
      const start = wallClockInstant(w.timezone, day.year, day.month, day.day, hh, mm);
      out.push({ start, end: start + duration, zone: w.timezone });
    }
    day = day.plus({ days: 1 });
  }
  return out;
}

/** Sort and merge windows that overlap or touch (one ends as the next starts). */
export function mergeWindows(ws: Window[]): Window[] {
  const sorted = [...ws].sort((a, b) => a.start - b.start || b.end - a.end);
  const out: Window[] = [];
  for (const w of sorted) {
    const cur = out[out.length - 1];
    if (cur && w.start <= cur.end) cur.end = Math.max(cur.end, w.end);
    else out.push({ ...w });
  }
  return out;
}

const MAX_HORIZON_DAYS = 800;

/**
 * The next `count` merged windows that end after `from` (the first may already
 * be open). A window still growing at the horizon (entries that chain into each
 * other for years) is returned cut at the horizon.
 */
export function nextWindows(config: readonly WindowConfig[], from: number, count: number): Window[] {
  if (config.length === 0 || count <= 0) return [];
  const longest = Math.max(...config.map((w) => parseDuration(w.duration) ?? 0));
  let horizonDays = 14;
  for (;;) {
    const horizon = from + horizonDays * DAY;
    // start early enough to catch a window that opened before `from` and is still open
    const merged = mergeWindows(config.flatMap((w) => occurrences(w, from - longest - DAY, horizon)));
    // complete: every entry that could extend it starts before the horizon
    const complete = merged.filter((w) => w.end > from && w.end < horizon);
    if (complete.length >= count) return complete.slice(0, count);
    if (horizonDays >= MAX_HORIZON_DAYS) return merged.filter((w) => w.end > from).slice(0, count);
    horizonDays = Math.min(horizonDays * 4, MAX_HORIZON_DAYS);
  }
}

/** The window open at `now`, if any. */
export function openWindow(config: readonly WindowConfig[], now: number): Window | undefined {
  const [w] = nextWindows(config, now, 1);
  return w && w.start <= now && now < w.end ? w : undefined;
}

/** A window as text and as ISO strings: in its zone's wall-clock time and in UTC. */
export function describeWindow(w: Window): { start: string; end: string; startLocal: string; endLocal: string; zone: string; durationMinutes: number } {
  const iso = (ms: number) => new Date(ms).toISOString().replace(/\.000Z$/, 'Z');
  const local = (ms: number) => DateTime.fromMillis(ms, { zone: w.zone }).toISO({ suppressMilliseconds: true }) ?? '';
  return {
    start: iso(w.start),
    end: iso(w.end),
    startLocal: local(w.start),
    endLocal: local(w.end),
    zone: w.zone,
    durationMinutes: Math.round((w.end - w.start) / MINUTE),
  };
}
