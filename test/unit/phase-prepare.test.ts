import { describe, expect, it } from 'vitest';
import { preparePhase } from '../../installer/phases/install/prepare.ts';
import { harness } from '../fixtures/install-harness.ts';

/** The prepare phase on fake hosts: probe, then the script only where something is missing. */
const SCRIPT = /printf '%s' .*> \/etc\/sysctl.d\/90-palisade\.conf/s;

describe('prepare phase', () => {
  it('a host missing its sysctls and FQDN line gets the script; one in place is left alone', async () => {
    const h = await harness();
    h.hosts.get('host2')!.on(/TODO sysctl/, 'TODO sysctl\nTODO hosts\n');
    h.hosts.get('host2')!.on(SCRIPT, 'NOTE skipped: host cannot load kernel module br_netfilter\n');
    const { result, events } = await h.run(preparePhase);
    expect(result.ok).toBe(true);
    expect(h.hosts.get('host2')!.ran(SCRIPT)).toHaveLength(1);
    expect(h.hosts.get('host1')!.ran(SCRIPT)).toHaveLength(0);
    expect(events).toContainEqual(expect.objectContaining({ phase: 'prepare', host: 'host2', status: 'done' }));
    expect(events).toContainEqual(expect.objectContaining({ phase: 'prepare', host: 'host1', status: 'skipped', message: 'up to date' }));
    expect(result.notes).toEqual([{ phase: 'prepare', host: 'host2', note: 'host2: skipped: host cannot load kernel module br_netfilter' }]);
    expect(result.upToDate).toBe(false);
  });

  it('hosts already prepared are skipped and nothing runs on them but the probe', async () => {
    const h = await harness();
    const { result } = await h.run(preparePhase);
    expect(result.upToDate).toBe(true);
    for (const host of h.hosts.values()) {
      expect(host.commands).toHaveLength(1);
      expect(host.uploads).toEqual([]);
    }
  });

  it('a script that fails is an install.prepare error naming the host', async () => {
    const h = await harness();
    h.hosts.get('host3')!.on(/TODO sysctl/, 'TODO swap\n').on(SCRIPT, { code: 1, stderr: 'sed: cannot rename /etc/fstab: Read-only file system\n' });
    const { result } = await h.run(preparePhase);
    expect(result.ok).toBe(false);
    expect(result.failed).toMatchObject({ phase: 'prepare', host: 'host3', error: { code: 'install.prepare' } });
    expect((result.failed!.error as Error).message).toMatch(/^host3: preparing the host failed \(exit 1\): sed: cannot rename/);
  });

  it('a dry run says what each host would get and runs no script', async () => {
    const h = await harness();
    h.hosts.get('host1')!.on(/TODO sysctl/, 'TODO swap\nTODO hosts\n');
    const { result } = await h.run(preparePhase, { dryRun: true });
    expect(result.plan.find((p) => p.host === 'host1')?.lines).toEqual(['turn swap off, point palisade.unit.internal at 10.0.0.1 in /etc/hosts']);
    expect(result.plan.find((p) => p.host === 'host2')?.lines).toEqual([]);
    for (const host of h.hosts.values()) expect(host.ran(SCRIPT)).toEqual([]);
  });
});
