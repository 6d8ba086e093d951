import { describe, expect, it } from 'vitest';
import { decideStep, DEFAULT_STEP_MS, DRAIN_AND_GATE_MS, estimateHost, scheduleSteps, type HostDuration } from '../../installer/upgrade/estimate.ts';
import { compareVersions, parseVersion, skewProblems, upgradeProblems, type NodeVersion } from '../../installer/upgrade/versions.ts';
import { emptyJournal } from '../../installer/state/journal.ts';
import type { Window } from '../../installer/upgrade/windows.ts';

const MIN = 60_000;
const nodes = (c: string[], w: string[] = []): NodeVersion[] => [
  ...c.map((v, i) => ({ name: `c${i + 1}`, role: 'controller' as const, version: v })),
  ...w.map((v, i) => ({ name: `w${i + 1}`, role: 'worker' as const, version: v })),
];

describe('upgrade version rules', () => {
  it('orders k3s versions by major, minor, patch, then the k3s revision', () => {
    const v = (s: string) => parseVersion(s)!;
    expect(compareVersions(v('v1.30.2+k3s1'), v('v1.30.6+k3s1'))).toBeLessThan(0);
    expect(compareVersions(v('v1.30.6+k3s2'), v('v1.30.6+k3s1'))).toBeGreaterThan(0);
    expect(compareVersions(v('v1.31.0+k3s1'), v('v1.30.9+k3s3'))).toBeGreaterThan(0);
    expect(parseVersion('banana')).toBeUndefined();
  });

  it('a patch and a one-minor upgrade are allowed', () => {
    expect(upgradeProblems(nodes(['v1.30.2+k3s1', 'v1.30.2+k3s1', 'v1.30.2+k3s1'], ['v1.30.2+k3s1']), 'v1.30.6+k3s1')).toEqual([]);
    expect(upgradeProblems(nodes(['v1.30.6+k3s1'], ['v1.30.6+k3s1']), 'v1.31.1+k3s1')).toEqual([]);
  });

  it('refuses a downgrade, naming the host and its version', () => {
    const p = upgradeProblems(nodes(['v1.30.6+k3s1'], ['v1.30.6+k3s1']), 'v1.30.2+k3s1');
    expect(p.map((x) => x.code)).toEqual(['downgrade']);
    expect(p[0]!.message).toContain('c1 runs v1.30.6+k3s1');
  });

  it('refuses skipping a minor: "1.30 → 1.32: upgrade through 1.31 first"', () => {
    const [p] = upgradeProblems(nodes(['v1.30.2+k3s1']), 'v1.32.0+k3s1');
    expect(p!.code).toBe('skip-minor');
    expect(p!.message).toBe('1.30 → 1.32 skips Kubernetes minor version 1.31');
    expect(p!.hint).toMatch(/^upgrade through 1\.31 first/);
    expect(upgradeProblems(nodes(['v1.29.2+k3s1']), 'v1.32.0+k3s1')[0]!.hint).toMatch(/through 1\.30, then 1\.31 first/);
  });

  it('a half-finished upgrade (controllers 1.30 and 1.31) may go on to 1.31, not to 1.32', () => {
    const half = nodes(['v1.31.1+k3s1', 'v1.30.6+k3s1', 'v1.30.6+k3s1'], ['v1.30.6+k3s1']);
    expect(upgradeProblems(half, 'v1.31.1+k3s1')).toEqual([]);
    expect(upgradeProblems(half, 'v1.32.0+k3s1').map((p) => p.code)).toEqual(['skip-minor']);
  });

  it('skew: API servers more than one minor apart, or a kubelet newer than the oldest API server', () => {
    expect(skewProblems(nodes(['v1.32.0+k3s1', 'v1.30.6+k3s1'])).map((p) => p.code)).toEqual(['skew']);
    const [p] = skewProblems(nodes(['v1.30.6+k3s1', 'v1.31.1+k3s1'], ['v1.31.1+k3s1']));
    expect(p!.message).toContain('w1 (v1.31.1+k3s1) run a kubelet newer than the oldest API server (v1.30.6+k3s1)');
    expect(skewProblems(nodes(['v1.31.1+k3s1', 'v1.31.1+k3s1'], ['v1.30.6+k3s1']))).toEqual([]);
  });

  it('an unreadable version is a problem, not a guess', () => {
    expect(upgradeProblems([{ name: 'c1', role: 'controller', version: undefined }], 'v1.30.6+k3s1').map((p) => p.code)).toEqual(['unknown']);
  });
});

describe('upgrade estimates', () => {
  const hist: HostDuration[] = [
    { host: 'c1', role: 'controller', durationMs: 40_000, finishedAt: '2026-01-01T00:00:00Z' },
    { host: 'c1', role: 'controller', durationMs: 50_000, finishedAt: '2026-02-01T00:00:00Z' },
    { host: 'c1', role: 'controller', durationMs: 90_000, finishedAt: '2026-03-01T00:00:00Z' },
    { host: 'c1', role: 'controller', durationMs: 900_000, finishedAt: '2025-01-01T00:00:00Z' },
    { host: 'c2', role: 'controller', durationMs: 60_000, finishedAt: '2026-03-01T00:00:00Z' },
  ];

  it("uses the host's own recent upgrades (median of the last three), then its role's, then its install join, then the default", () => {
    const j = emptyJournal('lab');
    j.phases.cluster = { status: 'done', hosts: { w1: { status: 'done', durationMs: 12_000 } } };
    expect(estimateHost('c1', 'controller', hist, j)).toEqual({ host: 'c1', ms: 50_000, source: 'this host, earlier upgrades' });
    expect(estimateHost('c3', 'controller', hist, j)).toMatchObject({ ms: 60_000, source: 'same role, earlier upgrades' });
    expect(estimateHost('w1', 'worker', hist, j)).toMatchObject({ ms: 12_000 + DRAIN_AND_GATE_MS, source: 'this host, install' });
    expect(estimateHost('w2', 'worker', hist, j)).toMatchObject({ ms: DEFAULT_STEP_MS, source: 'default' });
  });
});

describe('a host step starts only when its estimate fits in what is left of the window', () => {
  const T0 = Date.parse('2026-12-05T02:00:00Z');
  const ws: Window[] = [
    { start: T0, end: T0 + 60 * MIN, zone: 'UTC' },
    { start: T0 + 24 * 60 * MIN, end: T0 + 24 * 60 * MIN + 20 * MIN, zone: 'UTC' },
    { start: T0 + 7 * 24 * 60 * MIN, end: T0 + 7 * 24 * 60 * MIN + 240 * MIN, zone: 'UTC' },
  ];

  it('inside, fitting: go; inside, not fitting: the next window long enough; outside: the next window', () => {
    expect(decideStep(T0 + 30 * MIN, 30 * MIN, ws)).toMatchObject({ kind: 'go' });
    expect(decideStep(T0 + 31 * MIN, 30 * MIN, ws)).toMatchObject({ kind: 'later', reason: 'does-not-fit', next: ws[2] }); // the 20-minute one is too short
    expect(decideStep(T0 + 31 * MIN, 10 * MIN, ws)).toMatchObject({ kind: 'go' });
    expect(decideStep(T0 + 61 * MIN, 10 * MIN, ws)).toMatchObject({ kind: 'later', reason: 'outside', next: ws[1] });
    expect(decideStep(T0 - 1, 10 * MIN, ws)).toMatchObject({ kind: 'later', reason: 'outside', next: ws[0] });
    expect(decideStep(T0 + 60 * MIN, 10 * MIN, ws)).toMatchObject({ kind: 'later', next: ws[1] }); // the end is not inside
  });

  it('a step longer than every window can never start', () => {
    expect(decideStep(T0, 300 * MIN, ws)).toEqual({ kind: 'never', longestMs: 240 * MIN });
  });

  it('schedules steps into windows one after another and counts the windows needed', () => {
    const s = scheduleSteps(
      T0,
      [
        { hosts: ['c1'], estimateMs: 25 * MIN },
        { hosts: ['c2'], estimateMs: 25 * MIN },
        { hosts: ['c3'], estimateMs: 15 * MIN },
        { hosts: ['w1'], estimateMs: 25 * MIN },
      ],
      ws,
    );
    expect(s.steps.map((x) => x.window)).toEqual([0, 0, 1, 2]);
    expect(s.windowsNeeded).toBe(3);
    expect(s.steps[1]!.start).toBe(T0 + 25 * MIN);
    expect(
      scheduleSteps(
        T0,
        [
          { hosts: ['c1'], estimateMs: 10 * MIN },
          { hosts: ['c2'], estimateMs: 10 * MIN },
        ],
        ws,
      ).windowsNeeded,
    ).toBe(1);
    expect(scheduleSteps(T0, [{ hosts: ['c1'], estimateMs: 500 * MIN }], ws).unplaceable).toMatchObject({ hosts: ['c1'] });
  });
});

describe('upgrade plan', async () => {
  const { buildPlan } = await import('../../installer/upgrade/plan.ts');
  const { renderPlan } = await import('../../installer/upgrade/render.ts');
  const { configSchema } = await import('../../installer/config/schema.ts');
  const config = configSchema.parse({
    apiVersion: 'palisade/v1',
    cluster: { name: 'lab', fqdn: 'palisade.lab.internal' },
    hosts: [
      { name: 'host1', address: '10.0.0.1', role: 'controller' },
      { name: 'host2', address: '10.0.0.2', role: 'controller' },
      { name: 'host3', address: '10.0.0.3', role: 'controller' },
      { name: 'host4', address: '10.0.0.4', role: 'worker' },
      { name: 'host5', address: '10.0.0.5', role: 'worker' },
    ],
    upgrade: { workerConcurrency: 2 },
  });
  const T0 = Date.parse('2026-12-05T02:00:00Z');
  const live = (versions: string[], unhealthy: string[] = []) => ({
    nodes: config.hosts.map((h, i) => ({ name: h.name, role: h.role, binaryVersion: versions[i], kubeletVersion: versions[i], ready: true })),
    unhealthy,
    registryVersion: '2.8.2',
  });
  const bundle = {
    name: 'palisade-test',
    version: '0.0.2',
    path: '/b2',
    k3s: 'v1.30.6+k3s1',
    registry: '2.8.2',
    images: ['a:1@sha256:1', 'b:2@sha256:2'],
    packs: [{ name: 'k3s', version: '1.30.6' }],
  };
  const base = {
    config,
    bundle,
    state: { version: 1 as const, history: [] },
    journal: undefined,
    now: T0,
    windows: [{ start: T0, end: T0 + 3_600_000, zone: 'Europe/Berlin' }],
    previous: { images: ['a:1@sha256:1'], packs: [{ name: 'k3s', version: '1.30.2' }] },
  };

  it('orders controllers one at a time (first first), then workers in batches; skips hosts already at the target', () => {
    const p = buildPlan({ ...base, live: live(['v1.30.6+k3s1', 'v1.30.2+k3s1', 'v1.30.2+k3s1', 'v1.30.2+k3s1', 'v1.30.2+k3s1']) });
    expect(p.steps.map((s) => s.hosts)).toEqual([['host2'], ['host3'], ['host4', 'host5']]);
    expect(p.totalEstimateMs).toBe(3 * 300_000);
    expect(p.schedule.windowsNeeded).toBe(1);
    expect(p.components.find((c) => c.component === 'packs')).toMatchObject({ target: 'k3s 1.30.2 → 1.30.6', change: true });
    expect(p.components.find((c) => c.component === 'images')).toMatchObject({ target: '2 image(s), 1 new' });
    const text = renderPlan(p, T0);
    expect(text).toContain('host1        controller v1.30.6+k3s1 → v1.30.6+k3s1   already at the target');
    expect(text).toContain('the whole upgrade fits in one window');
  });

  it('names what is unhealthy and refuses; a host a stopped run left down is not held against it', () => {
    const v = Array(5).fill('v1.30.2+k3s1');
    const p = buildPlan({ ...base, live: live(v, ['host3: the node is not Ready (a datastore member is down)']) });
    expect(p.problems).toEqual([
      expect.objectContaining({ code: 'upgrade.unhealthy', message: 'the cluster is not healthy: host3: the node is not Ready (a datastore member is down)' }),
    ]);
    expect(buildPlan({ ...base, live: live(v, ['host3: the node is not Ready']), inProgress: ['host3'] }).problems).toEqual([]);
  });

  it('a plan where every host is at the target is up to date', () => {
    const p = buildPlan({ ...base, live: live(Array(5).fill('v1.30.6+k3s1')) });
    expect(p.upToDate).toBe(true);
    expect(renderPlan(p, T0)).toContain('up to date: every host runs v1.30.6+k3s1');
  });

  it('says when the upgrade needs more than one window', () => {
    const p = buildPlan({
      ...base,
      windows: [
        { start: T0, end: T0 + 700_000, zone: 'UTC' },
        { start: T0 + 86_400_000, end: T0 + 86_400_000 + 3_600_000, zone: 'UTC' },
      ],
      live: live(Array(5).fill('v1.30.2+k3s1')),
    });
    expect(p.schedule.steps.map((s) => s.window)).toEqual([0, 0, 1, 1]);
    expect(renderPlan(p, T0)).toContain('the upgrade needs 2 windows');
  });
});
