import { describe, expect, it } from 'vitest';
import { crypttabEntry, formatCrypttabLine } from '../../installer/encryption/crypttab.ts';
import { encryptPhase } from '../../installer/phases/install/encrypt.ts';
import { DISKS_IN_PLACE } from '../../installer/phases/install/outputs.ts';
import { scriptedDisk, section, fx, TANG_URL, THP_A } from '../fixtures/encryption/disk.ts';
import { harness } from '../fixtures/install-harness.ts';

const yaml = `apiVersion: palisade/v1
cluster: { name: unit, fqdn: palisade.lab.internal }
encryption: { mode: tang, tang: [{ url: '${TANG_URL}', thumbprint: '${THP_A}' }], allowUnopened: true }
hosts:
  - { name: host1, address: 10.231.0.10, role: controller, dataDisk: /dev/vdb }
`;
const KEY = 'luks-recovery/host1/vdb';

async function setup(state: string) {
  const h = await harness({ yaml });
  const keys = () => [...(h.keystores.saved.get(h.ctx.keystorePath)?.values() ?? [])].map((e) => e.value);
  const disk = scriptedDisk(h.hosts.get('host1')!, state, keys);
  return { h, disk };
}

describe('encrypt phase', () => {
  it('a blank disk: the recovery key is escrowed in a new keystore, then the disk is formatted and bound; verify is told the disks are in place', async () => {
    const { h, disk } = await setup('blank');
    const { result } = await h.run(encryptPhase);
    expect(result.ok, String(result.failed?.error)).toBe(true);
    const entry = h.keystores.saved.get(h.ctx.keystorePath)?.get(KEY);
    expect(entry?.meta?.uuid).toBe(disk.formattedUuid);
    const host = h.hosts.get('host1')!;
    const format = host.commands.find((c) => c.command.includes('luksFormat'))!;
    expect(format.stdin).toBe(entry!.value);
    for (const c of host.commands) expect(c.command).not.toContain(entry!.value);
    expect(disk.state).toBe('ours-tang');
    expect(result.outputs.get(DISKS_IN_PLACE)).toBe(true);
    expect(result.notes.map((n) => n.note)).toEqual([expect.stringMatching(/^host1 \/dev\/vdb: formatted, /)]);
  });

  it('a disk already ours and bound, its key escrowed: skipped, nothing run but the probe, and verify is told', async () => {
    const { h } = await setup('ours-tang');
    const uuid = /UUID=(.*)/.exec(section(fx('ours-tang.facts.txt'), 'blkid'))![1]!;
    // its crypttab line is there too (the probe sends the file in base64)
    const line = formatCrypttabLine(crypttabEntry({ name: 'palisade-vdb', uuid, netdev: true, noauto: true }));
    h.hosts
      .get('host1')!
      .on(/@@palisade-enc/, () =>
        fx('ours-tang.facts.txt').replace('@@palisade-enc crypttab\n', `@@palisade-enc crypttab\n${Buffer.from(`${line}\n`).toString('base64')}\n`),
      );
    h.keystores.saved.set(h.ctx.keystorePath, new Map([[KEY, { name: KEY, kind: 'luks-recovery', value: 'recovery-key', meta: { uuid } }]]));
    const { result } = await h.run(encryptPhase);
    expect(result.upToDate).toBe(true);
    expect(h.hosts.get('host1')!.commands.map((c) => c.command)).toEqual([expect.stringContaining('@@palisade-enc')]);
    expect(result.outputs.get(DISKS_IN_PLACE)).toBe(true);
  });

  it('with Tang down: install.encrypt naming the host, the disk untouched, no key escrowed', async () => {
    const { h, disk } = await setup('blank');
    disk.tangDown = true;
    const { result } = await h.run(encryptPhase);
    expect(result.failed?.error).toMatchObject({ code: 'install.encrypt', message: 'disk encryption failed on host1', details: [{ path: 'host1' }] });
    expect(h.hosts.get('host1')!.ran(/luksFormat/)).toEqual([]);
    expect(h.keystores.saved.get(h.ctx.keystorePath)?.get(KEY)).toBeUndefined();
  });

  it('a dry run plans the keystore and the encryption, formats nothing and writes no keystore', async () => {
    const { h, disk } = await setup('blank');
    const { result } = await h.run(encryptPhase, { dryRun: true });
    expect(result.plan[0]!.lines).toEqual([
      `create the keystore ${h.ctx.keystorePath}`,
      'encrypt the data disks of host1 (tang); recovery keys go to the keystore first',
    ]);
    expect(disk.state).toBe('blank');
    expect(h.keystores.saved.size).toBe(0);
  });
});
