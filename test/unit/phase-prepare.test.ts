import { describe, expect, it } from 'vitest';
import { modulesFile, PREPARE_FILES, sysctlFile } from '../../installer/cluster/prepare.ts';
import { preparePhase } from '../../installer/phases/install/prepare.ts';
import { type Harness, harness } from '../fixtures/install-harness.ts';

/**
 * The prepare phase on fake hosts: the boot files through the desired-files
 * helper (compared by content hash, uploaded with their mode only where they
 * differ), then the script for what must happen now, only where something is
 * missing.
 */
const SCRIPT = /^set -u\n/;
const SYSCTL = PREPARE_FILES.sysctl;
const MODULES = PREPARE_FILES.modules;

/** every host already has both boot files, as a prepared host does */
async function prepared(): Promise<Harness> {
  const h = await harness();
  for (const host of h.hosts.values()) host.file(SYSCTL, sysctlFile()).file(MODULES, modulesFile());
  return h;
}

describe('prepare phase', () => {
  it('a host missing its sysctl file and FQDN line gets the file (mode 0644) and the script; a prepared one is left alone', async () => {
    const h = await prepared();
    const host2 = h.hosts.get('host2')!;
    host2.files.delete(SYSCTL);
    host2.on(/TODO swap/, 'TODO hosts\n');
    host2.on(SCRIPT, 'NOTE skipped: host cannot load kernel module br_netfilter\n');
    const { result, events } = await h.run(preparePhase);
    expect(result.ok).toBe(true);
    expect(host2.uploads.map((u) => [u.path, u.mode?.toString(8), u.owner])).toEqual([[SYSCTL, '644', 'root:root']]);
    expect(host2.files.get(SYSCTL)!.data.toString()).toBe(sysctlFile());
    const [script] = host2.ran(SCRIPT);
    expect(script).toMatch(/sysctl -q -w net\.ipv4\.ip_forward=1/);
    expect(script).toContain('palisade: replaced');
    expect(script).not.toContain(SYSCTL); // the script no longer writes the file
    expect(h.hosts.get('host1')!.ran(SCRIPT)).toHaveLength(0);
    expect(h.hosts.get('host1')!.uploads).toEqual([]);
    expect(events).toContainEqual(expect.objectContaining({ phase: 'prepare', host: 'host2', status: 'done' }));
    expect(events).toContainEqual(expect.objectContaining({ phase: 'prepare', host: 'host1', status: 'skipped', message: 'up to date' }));
    expect(result.notes).toEqual([{ phase: 'prepare', host: 'host2', note: 'host2: skipped: host cannot load kernel module br_netfilter' }]);
    expect(result.upToDate).toBe(false);
  });

  it('a boot file with the right content but the wrong mode is put back with its mode', async () => {
    const h = await prepared();
    const host3 = h.hosts.get('host3')!;
    host3.file(MODULES, modulesFile(), 0o600);
    const { result } = await h.run(preparePhase);
    expect(result.ok).toBe(true);
    expect(host3.uploads.map((u) => [u.path, u.mode?.toString(8)])).toEqual([[MODULES, '644']]);
    expect(host3.files.get(MODULES)!.mode).toBe(0o644);
    expect(host3.ran(SCRIPT)[0]).toMatch(/modprobe br_netfilter/);
  });

  it('hosts already prepared are skipped: nothing is uploaded and only the read-only checks run', async () => {
    const h = await prepared();
    const { result } = await h.run(preparePhase);
    expect(result.upToDate).toBe(true);
    for (const host of h.hosts.values()) {
      expect(host.uploads).toEqual([]);
      expect(host.ran(SCRIPT)).toEqual([]);
      expect(host.commands.map((c) => c.command)).toEqual([expect.stringMatching(/^for f in .*sha256sum/), expect.stringContaining("echo 'TODO swap'")]);
    }
  });

  it('a script that fails is an install.prepare error naming the host', async () => {
    const h = await prepared();
    h.hosts
      .get('host3')!
      .on(/TODO swap/, 'TODO swap\n')
      .on(SCRIPT, { code: 1, stderr: 'sed: cannot rename /etc/fstab: Read-only file system\n' });
    const { result } = await h.run(preparePhase);
    expect(result.ok).toBe(false);
    expect(result.failed).toMatchObject({ phase: 'prepare', host: 'host3', error: { code: 'install.prepare' } });
    expect((result.failed!.error as Error).message).toMatch(/^host3: preparing the host failed \(exit 1\): sed: cannot rename/);
  });

  it('a host that drops the connection while its files are written fails with an error naming it', async () => {
    const h = await harness();
    const host4 = h.hosts.get('host4')!;
    host4.on(/install -d -m 0755/, () => {
      host4.down = true;
      return '';
    });
    const { result } = await h.run(preparePhase);
    expect(result.ok).toBe(false);
    expect(result.failed).toMatchObject({ phase: 'prepare', host: 'host4', error: { code: 'ssh.disconnected' } });
    expect((result.failed!.error as Error).message).toMatch(/^host4: /);
  });

  it('a dry run lists the files it would write and what it would do, and changes nothing', async () => {
    const h = await prepared();
    h.hosts.get('host1')!.files.delete(SYSCTL);
    h.hosts.get('host1')!.on(/TODO swap/, 'TODO swap\nTODO hosts\n');
    const { result } = await h.run(preparePhase, { dryRun: true });
    expect(result.plan.find((p) => p.host === 'host1')?.lines).toEqual([
      `write ${SYSCTL}`,
      'apply the sysctls, turn swap off, point palisade.unit.internal at 10.0.0.1 in /etc/hosts',
    ]);
    expect(result.plan.find((p) => p.host === 'host2')?.lines).toEqual([]);
    for (const host of h.hosts.values()) {
      expect(host.ran(SCRIPT)).toEqual([]);
      expect(host.uploads).toEqual([]);
    }
    expect(h.hosts.get('host1')!.files.has(SYSCTL)).toBe(false);
  });
});
