import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../installer/config/load.ts';
import { failure } from '../fixtures/errors.ts';
import { describeWindow, mergeWindows, nextWindows, openWindow, parseDuration, wallClockInstant, type WindowConfig } from '../../installer/upgrade/windows.ts';
import { suggestZone } from '../../installer/config/zones.ts';

type Day = WindowConfig['days'][number];
const win = (days: Day[], start: string, duration: string, timezone = 'UTC'): WindowConfig => ({ days, start, duration, timezone });
const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const spans = (ws: Array<{ start: number; end: number }>) => ws.map((w) => `${iso(w.start)} ${iso(w.end)}`);

describe('maintenance windows: wall-clock starts across DST changes', () => {
  it('New York, spring forward: a 02:30 start (a skipped time) begins at 03:00 EDT, the first valid instant after it', () => {
    const [w] = nextWindows([win(['sun'], '02:30', '1h', 'America/New_York')], at('2026-03-07T12:00:00Z'), 1);
    expect(spans([w!])).toEqual(['2026-03-08T07:00:00Z 2026-03-08T08:00:00Z']);
    expect(describeWindow(w!).startLocal).toBe('2026-03-08T03:00:00-04:00');
  });

  it('New York, fall back: a 01:30 start (it happens twice) is the first occurrence, in EDT', () => {
    const [w] = nextWindows([win(['sun'], '01:30', '1h', 'America/New_York')], at('2026-10-31T12:00:00Z'), 1);
    // elapsed hour: the window ends at 01:30 EST, the second 01:30 of that night
    expect(spans([w!])).toEqual(['2026-11-01T05:30:00Z 2026-11-01T06:30:00Z']);
    expect(describeWindow(w!).endLocal).toBe('2026-11-01T01:30:00-05:00');
  });

  it('Berlin, spring forward: 02:15 begins at 03:00 CEST; fall back: 02:30 is the CEST one', () => {
    expect(spans(nextWindows([win(['sun'], '02:15', '2h', 'Europe/Berlin')], at('2026-03-28T12:00:00Z'), 1))).toEqual([
      '2026-03-29T01:00:00Z 2026-03-29T03:00:00Z',
    ]);
    expect(spans(nextWindows([win(['sun'], '02:30', '30m', 'Europe/Berlin')], at('2026-10-24T12:00:00Z'), 1))).toEqual([
      '2026-10-25T00:30:00Z 2026-10-25T01:00:00Z',
    ]);
  });

  it('Lord Howe (a 30-minute shift): a 02:10 start in the skipped half hour begins at 02:30; an ambiguous 01:45 is the first one (+11:00)', () => {
    const [spring] = nextWindows([win(['sun'], '02:10', '1h', 'Australia/Lord_Howe')], at('2026-10-03T00:00:00Z'), 1);
    expect(iso(spring!.start)).toBe('2026-10-03T15:30:00Z');
    expect(describeWindow(spring!).startLocal).toBe('2026-10-04T02:30:00+11:00');
    const [fall] = nextWindows([win(['sun'], '01:45', '1h', 'Australia/Lord_Howe')], at('2026-04-04T00:00:00Z'), 1);
    expect(iso(fall!.start)).toBe('2026-04-04T14:45:00Z');
    expect(describeWindow(fall!).startLocal).toBe('2026-04-05T01:45:00+11:00');
    // a normal week later: 01:45 at +10:30
    expect(iso(nextWindows([win(['sun'], '01:45', '1h', 'Australia/Lord_Howe')], at('2026-04-06T00:00:00Z'), 1)[0]!.start)).toBe('2026-04-11T15:15:00Z');
  });

  it('a window lasts its elapsed duration across a DST change (8 h from 22:00 ends at 07:00 CEST, not 06:00)', () => {
    const [w] = nextWindows([win(['sat'], '22:00', '8h', 'Europe/Berlin')], at('2026-03-28T00:00:00Z'), 1);
    expect(spans([w!])).toEqual(['2026-03-28T21:00:00Z 2026-03-29T05:00:00Z']);
    expect(describeWindow(w!).endLocal).toBe('2026-03-29T07:00:00+02:00');
  });

  it('the same start on an ordinary day is exact (no gap, no overlap)', () => {
    expect(iso(wallClockInstant('America/New_York', 2026, 3, 15, 2, 30))).toBe('2026-03-15T06:30:00Z');
    expect(iso(wallClockInstant('Australia/Lord_Howe', 2026, 7, 5, 2, 10))).toBe('2026-07-04T15:40:00Z');
  });
});

describe('maintenance windows: days, midnight, month ends, leap days', () => {
  it('a window that crosses midnight is open after midnight and belongs to the day it started', () => {
    const cfg = [win(['fri'], '23:00', '3h')];
    const w = openWindow(cfg, at('2026-12-05T01:30:00Z')); // Saturday 01:30
    expect(w && spans([w])).toEqual(['2026-12-04T23:00:00Z 2026-12-05T02:00:00Z']);
    expect(openWindow(cfg, at('2026-12-05T02:00:00Z'))).toBeUndefined(); // the end is not inside
    expect(openWindow(cfg, at('2026-12-04T22:59:59Z'))).toBeUndefined();
  });

  it('daily windows step over a leap day and the month end', () => {
    const cfg = [win(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], '23:30', '1h')];
    expect(spans(nextWindows(cfg, at('2028-02-28T12:00:00Z'), 3))).toEqual([
      '2028-02-28T23:30:00Z 2028-02-29T00:30:00Z',
      '2028-02-29T23:30:00Z 2028-03-01T00:30:00Z',
      '2028-03-01T23:30:00Z 2028-03-02T00:30:00Z',
    ]);
    expect(spans(nextWindows(cfg, at('2027-02-28T12:00:00Z'), 2))[1]).toBe('2027-03-01T23:30:00Z 2027-03-02T00:30:00Z');
  });

  it('a window on the last night of the year ends in the new year, in its zone', () => {
    const [w] = nextWindows([win(['thu'], '22:00', '4h', 'Asia/Tokyo')], at('2026-12-30T00:00:00Z'), 1);
    expect(spans([w!])).toEqual(['2026-12-31T13:00:00Z 2026-12-31T17:00:00Z']);
    expect(describeWindow(w!).endLocal).toBe('2027-01-01T02:00:00+09:00');
  });

  it('lists the next N in order, starting with one that is open now', () => {
    const ws = nextWindows([win(['sat', 'sun'], '02:00', '4h', 'Europe/Berlin')], at('2026-12-05T02:00:00Z'), 3);
    expect(spans(ws)).toEqual([
      '2026-12-05T01:00:00Z 2026-12-05T05:00:00Z',
      '2026-12-06T01:00:00Z 2026-12-06T05:00:00Z',
      '2026-12-12T01:00:00Z 2026-12-12T05:00:00Z',
    ]);
  });
});

describe('maintenance windows: merging', () => {
  it('overlapping and touching windows merge into one; a gap keeps them apart', () => {
    const cfg = [win(['sat'], '02:00', '2h'), win(['sat'], '04:00', '1h'), win(['sat'], '03:00', '30m'), win(['sat'], '05:01', '1h')];
    expect(spans(nextWindows(cfg, at('2026-12-04T00:00:00Z'), 2))).toEqual([
      '2026-12-05T02:00:00Z 2026-12-05T05:00:00Z',
      '2026-12-05T05:01:00Z 2026-12-05T06:01:00Z',
    ]);
  });

  it('windows in different zones merge by the instant', () => {
    const cfg = [win(['sat'], '03:00', '2h', 'Europe/Berlin'), win(['sat'], '03:30', '2h', 'UTC')];
    expect(spans(nextWindows(cfg, at('2026-12-04T00:00:00Z'), 1))).toEqual(['2026-12-05T02:00:00Z 2026-12-05T05:30:00Z']);
  });

  it('an every-day 24 h window is one open window, not a list of touching ones', () => {
    const ws = nextWindows([win(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], '00:00', '24h')], at('2026-12-01T10:00:00Z'), 3);
    expect(ws).toHaveLength(1);
    expect(ws[0]!.start).toBeLessThanOrEqual(at('2026-12-01T10:00:00Z'));
    expect(ws[0]!.end - at('2026-12-01T10:00:00Z')).toBeGreaterThan(300 * 86_400_000);
  });

  it('mergeWindows keeps the longer of two that start together', () => {
    expect(
      mergeWindows([
        { start: 0, end: 10, zone: 'UTC' },
        { start: 0, end: 20, zone: 'UTC' },
        { start: 20, end: 25, zone: 'UTC' },
      ]),
    ).toEqual([{ start: 0, end: 25, zone: 'UTC' }]);
  });

  it('durations: hours, minutes, both', () => {
    expect([parseDuration('4h'), parseDuration('90m'), parseDuration('1h30m'), parseDuration('h'), parseDuration('')]).toEqual([
      14_400_000,
      5_400_000,
      5_400_000,
      undefined,
      undefined,
    ]);
  });
});

describe('maintenance windows: the config', () => {
  const cfg = (zone: string, duration = '4h') => `apiVersion: palisade/v1
cluster: {name: lab, fqdn: palisade.lab.internal}
hosts:
  - {name: a, address: 10.0.0.1, role: controller}
maintenanceWindows:
  - {days: [sat], start: "02:00", duration: ${duration}, timezone: ${zone}}
`;
  const file = join(tmpdir(), 'palisade.yaml');

  it('a misspelt zone is a config error naming the field, with the real name as the hint', async () => {
    const e = await failure(parseConfig(cfg('Europe/Berln'), file));
    expect(e.exitCode).toBe(2);
    expect(e.details).toEqual([
      { path: 'maintenanceWindows[0].timezone', message: '"Europe/Berln" is not an IANA time zone', hint: 'did you mean "Europe/Berlin"?' },
    ]);
  });

  it('accepts IANA names; a name with no near match gets the general hint', async () => {
    await expect(parseConfig(cfg('Australia/Lord_Howe'), file)).resolves.toBeTruthy();
    await expect(parseConfig(cfg('UTC'), file)).resolves.toBeTruthy();
    expect((await failure(parseConfig(cfg('Mars/Olympus_Mons'), file))).details[0]!.hint).toMatch(/IANA name like/);
    expect((await failure(parseConfig(cfg('UTC', '0m'), file))).details[0]!.path).toBe('maintenanceWindows[0].duration');
    await expect(parseConfig(cfg('UTC', '1h30m'), file)).resolves.toBeTruthy();
  });

  it('suggests by case and by city', () => {
    expect(suggestZone('europe/berlin')).toBe('Europe/Berlin');
    expect(suggestZone('America/New York')).toBe('America/New_York');
    expect(suggestZone('Lord_Howe')).toBe('Australia/Lord_Howe');
  });
});

describe('palisade upgrade windows', () => {
  it('--output json prints the merged windows as UTC ISO-8601 and says whether --from is inside one', async () => {
    const { writeFile, mkdtemp } = await import('node:fs/promises');
    const { main } = await import('../../installer/cli.ts');
    const dir = await mkdtemp(join(tmpdir(), 'palisade-windows-'));
    const file = join(dir, 'palisade.yaml');
    await writeFile(
      file,
      `apiVersion: palisade/v1
cluster: {name: lab, fqdn: palisade.lab.internal}
hosts:
  - {name: a, address: 10.0.0.1, role: controller}
maintenanceWindows:
  - {days: [sat], start: "02:00", duration: 4h, timezone: Europe/Berlin}
  - {days: [sat], start: "06:00", duration: 1h, timezone: Europe/Berlin}
`,
    );
    const out: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((s: string) => (out.push(s), true)) as typeof process.stdout.write;
    try {
      expect(
        await main(['node', 'palisade', 'upgrade', 'windows', '-c', file, '--from', '2026-12-05T03:00:00+01:00', '--count', '2', '--output', 'json']),
      ).toBe(0);
      expect(await main(['node', 'palisade', 'upgrade', 'windows', '-c', file, '--from', 'yesterday'])).toBe(2);
      // the group's -c before the subcommand: its value is not taken for a command name
      expect(await main(['node', 'palisade', 'upgrade', '-c', file, 'windows', '--count', '1', '-o', 'json'])).toBe(0);
    } finally {
      process.stdout.write = write;
    }
    expect(JSON.parse(out[1]!).windows).toHaveLength(1);
    const j = JSON.parse(out[0]!) as { windows: Array<{ start: string; end: string }>; inWindow: boolean; remainingMinutes: number };
    expect(j.windows.map((w) => [w.start, w.end])).toEqual([
      ['2026-12-05T01:00:00Z', '2026-12-05T06:00:00Z'],
      ['2026-12-12T01:00:00Z', '2026-12-12T06:00:00Z'],
    ]);
    expect(j.inWindow).toBe(true);
    expect(j.remainingMinutes).toBe(240);
  });
});
