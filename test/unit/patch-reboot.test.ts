import { describe, expect, it } from 'vitest';
import type { ClusterDriver, NodeSpec } from '../../installer/cluster/types.ts';
import { parseConfig } from '../../installer/config/load.ts';
import { rebootRolling, type RebootOptions, type RebootReport } from '../../installer/hardening/patch/reboot.ts';
import { rebootAfterPatch } from '../../installer/hardening/patch/reboot-run.ts';
import type { RemoteHost } from '../../installer/hosts/types.ts';
import { WindowStop } from '../../installer/upgrade/rolling.ts';
import type { Window } from '../../installer/upgrade/windows.ts';
import { failure } from '../fixtures/errors.ts';
import { FakeHost } from '../fixtures/fake-host.ts';

/**
 * Rolling reboots after a patch on fake hosts and a fake clock: only inside a
 * window the reboot fits in, one host at a time, drained before and Ready,
 * uncordoned and the health gate passed after, before the next host goes down.
 */
const MIN = 60_000;
const T0 = Date.parse('2026-12-05T02:00:00Z');
const windows: Window[] = [
  { start: T0, end: T0 + 25 * MIN, zone: 'UTC' },
  { start: T0 + 24 * 60 * MIN, end: T0 + 25 * 60 * MIN, zone: 'UTC' },
];
const nodes = [
  { name: 'host1', role: 'server' },
  { name: 'host2', role: 'agent' },
] as unknown as NodeSpec[];

function world(o: { startAt?: number; healthAfter?: (host: string) => string[]; neverBack?: string; downFor?: number } = {}) {
  let t = o.startAt ?? T0;
  const log: string[] = [];
  let boots = 0;
  const lastRebooted: string[] = [];
  const host = (name: string, boot: string): FakeHost => {
    const h = new FakeHost(name);
    h.on(/boot_id/, `${boot}\n`);
    h.on(/systemctl reboot/, () => {
      log.push(`${name}: reboot`);
      lastRebooted.push(name);
      t += 2 * MIN;
      return '';
    });
    return h;
  };
  const connections = new Map<string, RemoteHost>(['host1', 'host2'].map((n) => [n, host(n, `${n}-boot-0`)]));
  const driver = {
    version: async () => 'v1.30.4+k3s1',
    cordon: async (_api: RemoteHost, n: string, on: boolean) => void log.push(`${n}: ${on ? 'cordon' : 'uncordon'}`),
    drain: async (_api: RemoteHost, n: string) => void log.push(`${n}: drain`),
    waitReadyAt: async (h: RemoteHost) => void log.push(`${h.name}: Ready`),
  } as unknown as ClusterDriver;
  let downUntil = 0;
  const opts: RebootOptions = {
    hosts: ['host1', 'host2'],
    nodes,
    connections,
    driver,
    reconnect: async (n) => {
      if (n === o.neverBack || t < downUntil) throw new Error(`connect ECONNREFUSED (${n} is booting)`);
      return host(n, `${n}-boot-${++boots}`);
    },
    api: async (avoid) => connections.get(avoid === 'host1' ? 'host2' : 'host1'),
    health: async () => {
      const last = lastRebooted.at(-1);
      const p = last && o.healthAfter ? o.healthAfter(last) : [];
      log.push(`gate${p.length ? `: ${p[0]}` : ''}`);
      return p;
    },
    windowsFrom: (now) => windows.filter((w) => w.end > now),
    now: () => t,
    ignoreWindow: false,
    waitForWindow: false,
    signal: new AbortController().signal,
    drainTimeoutMs: 5 * MIN,
    readyTimeoutMs: 5 * MIN,
    estimateMs: 10 * MIN,
    upTimeoutMs: 5 * MIN,
    settleMs: MIN,
    progress: () => undefined,
    nap: async (ms) => void (t += ms),
  };
  // a reboot takes `downFor` ms more before sshd answers again
  if (o.downFor) {
    const inner = opts.reconnect;
    opts.reconnect = async (n) => {
      if (downUntil === 0) downUntil = t + o.downFor!;
      return inner(n);
    };
  }
  return { opts, log, connections, now: () => t };
}

describe('reboots after a patch', () => {
  it('inside a window: one host at a time, drained, back with a new boot, Ready, uncordoned, the gate passed before the next', async () => {
    const w = world({ downFor: 20_000 });
    const r = await rebootRolling(w.opts);
    expect(r.rebooted.map((x) => x.host)).toEqual(['host1', 'host2']);
    expect(w.log.filter((l) => !l.startsWith('gate') || l === 'gate')).toEqual([
      'gate', // quorum check before a controller goes down
      'host1: cordon',
      'host1: drain',
      'host1: reboot',
      'host1: Ready',
      'host1: uncordon',
      'gate',
      'host2: cordon',
      'host2: drain',
      'host2: reboot',
      'host2: Ready',
      'host2: uncordon',
      'gate',
    ]);
    // the map now holds the new connections (the old ones died with the reboot)
    expect(await w.connections.get('host1')!.exec('cat /proc/sys/kernel/random/boot_id')).toMatchObject({ stdout: expect.stringMatching(/^host1-boot-[1-9]/) });
  });

  it('outside every window nothing is rebooted: the run stops with exit 75 and says when the next window opens', async () => {
    const w = world({ startAt: T0 - 5 * MIN });
    const e = await failure(rebootRolling(w.opts));
    expect(e).toBeInstanceOf(WindowStop);
    expect(e.exitCode).toBe(75);
    expect(e.message).toMatch(/no maintenance window is open; 2 host\(s\) left \(host1, host2\)\. The next window opens 2026-12-05T02:00:00Z/);
    expect(w.log).toEqual([]);
  });

  it('a window with room for one reboot: the first host is rebooted, the run stops before the second (what it did is kept)', async () => {
    const w = world({ startAt: T0 + 14 * MIN });
    const into: RebootReport = { rebooted: [] };
    const e = await failure(rebootRolling({ ...w.opts, into }));
    expect(e).toBeInstanceOf(WindowStop);
    expect(into.rebooted.map((x) => x.host)).toEqual(['host1']);
    expect(e.message).toMatch(/1 host\(s\) left \(host2\)/);
    expect(w.log).not.toContain('host2: cordon');
  });

  it('--wait-for-window waits for the next window and carries on there', async () => {
    const w = world({ startAt: T0 + 14 * MIN });
    const r = await rebootRolling({ ...w.opts, waitForWindow: true });
    expect(r.rebooted.map((x) => x.host)).toEqual(['host1', 'host2']);
    expect(w.now()).toBeGreaterThan(windows[1]!.start);
  });

  it('a cluster that stays unhealthy after a reboot stops the run before the next host goes down', async () => {
    const w = world({ healthAfter: (h) => (h === 'host1' ? ['host1: datastore member not healthy'] : []) });
    const e = await failure(rebootRolling(w.opts));
    expect(e.code).toBe('patch.gate');
    expect(e.message).toMatch(/^host1: the health gate after its reboot failed: host1: datastore member not healthy/);
    expect(w.log.filter((l) => l.startsWith('host2'))).toEqual([]);
  });

  it('a host that does not come back stops the run, naming it; the next host is left alone', async () => {
    const w = world();
    const e = await failure(
      rebootRolling({ ...w.opts, reconnect: async (n) => (n === 'host1' ? Promise.reject(new Error('connect ETIMEDOUT')) : w.opts.reconnect(n)) }),
    );
    expect(e.code).toBe('patch.reboot');
    expect(e.message).toMatch(/^host1: did not come back within 300 s after its reboot \(connect ETIMEDOUT\)/);
    expect(w.log.filter((l) => l.startsWith('host2'))).toEqual([]);
  });

  it('no maintenance window in palisade.yaml: refused before any host is touched, unless --ignore-window', async () => {
    const { config } = await parseConfig(
      'apiVersion: palisade/v1\ncluster: { name: unit, fqdn: palisade.unit.internal }\nhosts:\n  - { name: host1, address: 10.0.0.1, role: controller }\n',
      '/nonexistent/palisade.yaml',
    );
    const h = new FakeHost('host1');
    const e = await failure(
      rebootAfterPatch({
        config,
        baseDir: '/nonexistent',
        hosts: new Map([['host1', h]]),
        need: ['host1'],
        ignoreWindow: false,
        waitForWindow: false,
        signal: new AbortController().signal,
        progress: () => undefined,
      }),
    );
    expect(e.code).toBe('patch.no-window');
    expect(e.hint).toMatch(/--ignore-window --yes/);
    expect(h.commands).toEqual([]);
  });
});
