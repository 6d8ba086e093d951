import { describe, expect, it } from 'vitest';
import { PalisadeError } from '../../installer/core/errors.ts';
import { connectPhase } from '../../installer/phases/install/connect.ts';
import { BUNDLE, HOSTS, MACHINE_IDS, PREFLIGHT_TARGETS } from '../../installer/phases/install/outputs.ts';
import { readCheckedHosts, writeCheckedHosts } from '../../installer/state/checked-hosts.ts';
import { stateFiles } from '../../installer/state/paths.ts';
import { fakeBundle, harness } from '../fixtures/install-harness.ts';

const LOCK = /exec 9>>"\$L.guard".*\n?.*flock -w 15 9 \|\| \{ echo BUSY/s;
const RELEASE = /rm -f "\$L"/;

describe('connect phase', () => {
  it('connects, locks every host for the run, and sends preflight to every host the first time', async () => {
    const h = await harness();
    const { result } = await h.run(connectPhase);
    expect(result.ok).toBe(true);
    for (const host of h.hosts.values()) {
      const lock = host.commands.find((c) => LOCK.test(c.command));
      expect(lock?.stdin).toContain('"owner":"run-1"');
      // released by the phase's cleanup when the run ends
      expect(host.ran(RELEASE)).toHaveLength(1);
    }
    expect([...result.outputs.get(HOSTS).keys()]).toEqual(['host1', 'host2', 'host3', 'host4']);
    expect(result.outputs.get(MACHINE_IDS).get('host2')).toBe(h.hosts.get('host2')!.machineId);
    expect(result.outputs.get(PREFLIGHT_TARGETS)).toEqual(['host1', 'host2', 'host3', 'host4']);
  });

  it('hosts preflight passed on before are not checked again; a replaced host is', async () => {
    const h = await harness();
    const file = stateFiles(h.ctx.stateDir).checkedHosts;
    const ids = Object.fromEntries([...h.hosts].map(([n, x]) => [n, x.machineId]));
    await writeCheckedHosts(file, ids);
    expect((await h.run(connectPhase)).result.outputs.get(PREFLIGHT_TARGETS)).toEqual([]);
    h.hosts.get('host3')!.machineId = 'f'.repeat(32);
    expect((await h.run(connectPhase)).result.outputs.get(PREFLIGHT_TARGETS)).toEqual(['host3']);
    expect(await readCheckedHosts(file)).toEqual(ids);
  });

  it('a host that cannot be reached is an install.connect error naming it; the others are closed again', async () => {
    let closed = 0;
    const h = await harness({
      connect: async () => {
        const hosts = new Map([...h.hosts].filter(([n]) => n !== 'host2'));
        for (const x of hosts.values()) x.close = async () => void closed++;
        return { hosts, failures: [{ name: 'host2', error: new PalisadeError('ssh.connect', 'host2 (10.0.0.2:22): connection refused') }] };
      },
    });
    const { result } = await h.run(connectPhase);
    expect(result.failed?.error).toMatchObject({ code: 'install.connect', message: '1 host(s) could not be reached: host2', details: [{ path: 'host2' }] });
    expect(closed).toBe(3);
    for (const host of h.hosts.values()) expect(host.ran(LOCK)).toEqual([]);
  });

  it('a host locked by another run is an error naming it, and no host stays locked', async () => {
    const h = await harness();
    h.hosts.get('host2')!.on(LOCK, `HELD 12 {"owner":"other","pid":4242,"admin":"elsewhere","startedAt":"2026-01-01T00:00:00Z"}\n`);
    const { result } = await h.run(connectPhase);
    expect(result.failed?.error).toMatchObject({ code: 'state.host-locked' });
    expect((result.failed!.error as Error).message).toMatch(/^host2 is being installed by another run: pid 4242 on elsewhere/);
    expect(h.hosts.get('host1')!.ran(RELEASE)).toHaveLength(1);
  });

  it('a dry run connects and reads, but takes no lock and records the lock in the plan', async () => {
    const h = await harness();
    const { result } = await h.run(connectPhase, { dryRun: true });
    expect(result.ok).toBe(true);
    for (const host of h.hosts.values()) expect(host.ran(LOCK)).toEqual([]);
    expect(result.plan).toEqual([{ phase: 'connect', lines: ['lock host1, host2, host3, host4 for this run'], readOnly: true }]);
    expect(result.outputs.get(PREFLIGHT_TARGETS)).toEqual(['host1', 'host2', 'host3', 'host4']);
  });

  it('a bundle older than what the nodes run is refused before any host is locked (no downgrade through install); the same version goes ahead', async () => {
    const h = await harness();
    const bundle = (k3s: string) => {
      const b = fakeBundle(h.dir);
      return Object.assign(b, { manifest: { ...b.manifest, components: { binaries: [{ name: 'k3s', version: k3s }], images: [], packs: [] } } });
    };
    h.driver.versionText = 'v1.31.4+k3s1';
    const { result } = await h.run(connectPhase, { outputs: [[BUNDLE, bundle('v1.30.2+k3s1')] as const] });
    expect(result.failed?.error).toMatchObject({
      code: 'install.downgrade',
      message: expect.stringMatching(/host1 runs v1\.31\.4\+k3s1, .*newer than the bundle's v1\.30\.2\+k3s1/),
    });
    for (const host of h.hosts.values()) expect(host.ran(LOCK)).toHaveLength(0);
    expect((await h.run(connectPhase, { outputs: [[BUNDLE, bundle('v1.31.4+k3s1')] as const] })).result.ok).toBe(true);
    // nothing installed yet (a first install): nothing to compare
    h.driver.versionText = undefined;
    expect((await h.run(connectPhase, { outputs: [[BUNDLE, bundle('v1.30.2+k3s1')] as const] })).result.ok).toBe(true);
  });
});
