import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configSchema, type PalisadeConfig } from '../../installer/config/schema.ts';
import { crypttabEntry, formatCrypttabLine } from '../../installer/encryption/crypttab.ts';
import { parseEncryptionFacts } from '../../installer/encryption/facts.ts';
import { planEncryption, planProblems } from '../../installer/encryption/plan.ts';
import { desiredBinding, hostEncryptionSettings } from '../../installer/encryption/settings.ts';
import type { DiskPlan, EscrowRecord, HostEncryptionFacts } from '../../installer/encryption/types.ts';

const fx = (name: string) => readFileSync(join(import.meta.dirname, '../fixtures/encryption', name), 'utf8');
const THP_A = fx('tang-adv-a.thumbprint').trim();
const THP_B = fx('tang-adv-b.thumbprint').trim();
const TANG_URL = 'http://127.0.0.1:7598';

function config(encryption: Record<string, unknown>, hostExtra: Record<string, unknown> = {}): PalisadeConfig {
  return configSchema.parse({
    apiVersion: 'palisade/v1',
    cluster: { name: 'lab', fqdn: 'palisade.lab.internal' },
    hosts: [{ name: 'h1', address: '10.231.0.10', role: 'controller', dataDisk: '/dev/vdb', ...hostExtra }],
    encryption: { allowUnopened: true, ...encryption },
  });
}

const tang = (thumbprint = THP_A) => ({ mode: 'tang', tang: [{ url: TANG_URL, thumbprint }] });

/** Facts of one host whose /dev/vdb is in a recorded state, with changes on top. */
function facts(state: string, patch: (f: HostEncryptionFacts) => void = () => {}): Map<string, HostEncryptionFacts> {
  const f = parseEncryptionFacts('h1', ['/dev/vdb'], fx(`${state}.facts.txt`));
  patch(f);
  return new Map([['h1', f]]);
}

/** The crypttab line palisade writes for the recorded disk, so a state can count as fully configured. */
function withCrypttab(state: string, netdev = true): Map<string, HostEncryptionFacts> {
  return facts(state, (f) => {
    f.crypttab = `# existing\n${formatCrypttabLine(crypttabEntry({ name: 'palisade-vdb', uuid: f.disks[0]!.blkid.UUID!, netdev, noauto: true }))}\n`;
  });
}

function plan1(cfg: PalisadeConfig, f: Map<string, HostEncryptionFacts>, escrow?: Map<string, EscrowRecord>): DiskPlan {
  const p = planEncryption({ config: cfg, facts: f, ...(escrow ? { escrow } : {}) });
  return p.hosts[0]!.disks[0]!;
}

describe('encryption plan: disks holding something', () => {
  it('formats a blank disk', () => {
    const d = plan1(config(tang()), facts('blank'));
    expect(d.action).toBe('format');
    expect(d.wipes).toEqual([]);
    expect(d.addBinding).toMatchObject({ pin: 'tang', url: TANG_URL });
  });

  it('refuses an ext4 filesystem without wipe and says what it found', () => {
    const d = plan1(config(tang()), facts('ext4'));
    expect(d.action).toBe('refuse');
    expect(d.reason).toMatch(/holds an ext4 filesystem uuid [0-9a-f-]{36} label "olddata"/);
    expect(d.reason).toMatch(/encryption\.wipe: true/);
  });

  it('formats the ext4 disk when wipe is set, listing what is wiped', () => {
    const d = plan1(config({ ...tang(), wipe: true }), facts('ext4'));
    expect(d.action).toBe('format');
    expect(d.wipes.join()).toMatch(/ext4 filesystem/);
  });

  it('never formats a mounted disk, even with wipe', () => {
    const d = plan1(config({ ...tang(), wipe: true }), facts('ext4-mounted'));
    expect(d.action).toBe('refuse');
    expect(d.reason).toMatch(/in use: mounted at \/tmp\//);
  });

  it.each([
    ['partitioned', /a dos partition table/],
    ['luks1', /a LUKS1 header \(uuid [0-9a-f-]{36}\)/],
    ['luks2-foreign', /a LUKS2 header \(uuid [0-9a-f-]{36}, label "somebody-else"\)/],
  ])('refuses %s without wipe', (state, what) => {
    const d = plan1(config(tang()), facts(state));
    expect(d.action).toBe('refuse');
    expect(d.reason).toMatch(what);
  });

  it('refuses unrecognised bytes at the start of a disk', () => {
    const d = plan1(
      config(tang()),
      facts('blank', (f) => (f.disks[0]!.nonZeroHeadBytes = 512)),
    );
    expect(d.action).toBe('refuse');
    expect(d.reason).toMatch(/data palisade cannot identify \(512 non-zero bytes/);
  });

  it('refuses a missing device, a regular file and a read-only disk', () => {
    expect(
      plan1(
        config(tang()),
        facts('blank', (f) => (f.disks[0]!.exists = false)),
      ).reason,
    ).toMatch(/does not exist/);
    expect(
      plan1(
        config(tang()),
        facts('blank', (f) => (f.disks[0]!.isBlockDevice = false)),
      ).reason,
    ).toMatch(/not a block device/);
    expect(
      plan1(
        config(tang()),
        facts('blank', (f) => (f.disks[0]!.readOnly = true)),
      ).reason,
    ).toMatch(/read-only/);
  });

  it('lists every refusal for one error', () => {
    const p = planEncryption({ config: config(tang()), facts: facts('ext4') });
    expect(planProblems(p)).toEqual([{ path: 'h1:/dev/vdb', message: expect.stringMatching(/ext4/) }]);
  });
});

describe('encryption plan: disks palisade encrypted', () => {
  it('does nothing when the binding and crypttab are as configured', () => {
    const d = plan1(config(tang()), withCrypttab('ours-tang'));
    expect(d.action).toBe('nothing');
    expect(d.bound).toEqual([expect.stringMatching(/^slot 1: tang\(http:\/\/127\.0\.0\.1:7598/)]);
  });

  it('only writes crypttab when that is all that differs', () => {
    const d = plan1(config(tang()), facts('ours-tang'));
    expect(d.action).toBe('configure');
    expect(d.crypttabChange).toBe(true);
    expect(d.addBinding).toBeUndefined();
    expect(d.removeSlots).toEqual([]);
  });

  it('binds a disk formatted by an earlier run that stopped before binding', () => {
    const d = plan1(config(tang()), withCrypttab('ours-unbound'));
    expect(d.action).toBe('rebind');
    expect(d.reason).toMatch(/not bound yet/);
    expect(d.addBinding).toMatchObject({ pin: 'tang' });
    expect(d.removeSlots).toEqual([]);
  });

  it('rebinds after a Tang key rotation: adds the new key, then removes the stale slot', () => {
    const d = plan1(config(tang(THP_B)), withCrypttab('ours-tang'));
    expect(d.action).toBe('rebind');
    expect(d.addBinding).toEqual({ pin: 'tang', url: TANG_URL, thumbprints: [THP_B] });
    expect(d.removeSlots).toEqual([1]);
    expect(d.reason).toMatch(/then remove stale clevis slot\(s\) 1/);
  });

  it('moves a tang disk to tpm2+tang, and a 1-of-2 disk to 2-of-2', () => {
    const both = { mode: 'tpm2+tang', tang: [{ url: TANG_URL, thumbprint: THP_A }] };
    const d = plan1(config(both), withCrypttab('ours-tang'));
    expect(d.addBinding).toMatchObject({ pin: 'sss', threshold: 2 });
    expect(d.removeSlots).toEqual([1]);
    expect(plan1(config(both), withCrypttab('ours-sss-2of2')).action).toBe('nothing');
    const up = plan1(config(both), withCrypttab('ours-sss-1of2'));
    expect(up.action).toBe('rebind');
    expect(up.addBinding).toMatchObject({ pin: 'sss', threshold: 2 });
    expect(plan1(config({ ...both, threshold: 1 }), withCrypttab('ours-sss-1of2')).action).toBe('nothing');
  });

  it('removes an extra binding without adding one when the wanted binding is there', () => {
    const d = plan1(config({ mode: 'tpm2+tang', threshold: 1, tang: [{ url: TANG_URL, thumbprint: THP_A }] }), withCrypttab('ours-sss-1of2-plus-tang-b'));
    expect(d.action).toBe('rebind');
    expect(d.addBinding).toBeUndefined();
    expect(d.removeSlots).toEqual([2]);
  });

  it('compares tpm2 PCR lists', () => {
    expect(plan1(config({ mode: 'tpm2' }), withCrypttab('ours-tpm2', false)).action).toBe('nothing');
    const d = plan1(config({ mode: 'tpm2', tpm2: { pcrs: [0, 7] } }), withCrypttab('ours-tpm2', false));
    expect(d.action).toBe('rebind');
    expect(d.addBinding).toEqual({ pin: 'tpm2', pcrs: [0, 7] });
  });

  it('mode passphrase removes clevis bindings and keeps the recovery slot', () => {
    const d = plan1(config({ mode: 'passphrase' }), withCrypttab('ours-tang', false));
    expect(d.action).toBe('rebind');
    expect(d.addBinding).toBeUndefined();
    expect(d.removeSlots).toEqual([1]);
    expect(d.removeSlots).not.toContain(0);
  });

  it('with a keystore, trusts a palisade header only when the keystore holds its key', () => {
    const f = withCrypttab('ours-tang');
    const uuid = f.get('h1')!.disks[0]!.blkid.UUID!;
    expect(plan1(config(tang()), f, new Map([['luks-recovery/h1/vdb', { uuid }]])).action).toBe('nothing');
    const missing = plan1(config(tang()), f, new Map());
    expect(missing.action).toBe('refuse');
    expect(missing.reason).toMatch(/recovery key is not in this keystore/);
    const other = plan1(config(tang()), f, new Map([['luks-recovery/h1/vdb', { uuid: '00000000-0000-0000-0000-000000000000' }]]));
    expect(other.action).toBe('refuse');
    expect(other.reason).toMatch(/recovery key is for uuid 00000000/);
    expect(plan1(config({ ...tang(), wipe: true }), f, new Map()).action).toBe('format');
  });
});

describe('encryption plan: hosts', () => {
  it('blocks a host without device-mapper unless the operator waives it', () => {
    const cfg = config({ ...tang(), allowUnopened: false });
    const p = planEncryption({ config: cfg, facts: facts('blank') });
    expect(p.hosts[0]!.blockers.join()).toMatch(/device-mapper is missing/);
    expect(planEncryption({ config: cfg, facts: facts('blank'), allowUnopened: true }).hosts[0]!.blockers).toEqual([]);
  });

  it('has no blockers when there is nothing to do', () => {
    const cfg = config({ ...tang(), allowUnopened: false });
    const p = planEncryption({
      config: cfg,
      facts: facts('ours-tang', (f) => (f.crypttab = `palisade-vdb UUID=${f.disks[0]!.blkid.UUID} none luks,_netdev,noauto\n`)),
    });
    expect(p.hosts[0]!.disks[0]!.action).toBe('nothing');
    expect(p.hosts[0]!.blockers).toEqual([]);
  });

  it('blocks tpm2 without a TPM and tang without curl', () => {
    const p = planEncryption({ config: config({ mode: 'tpm2' }), facts: facts('blank', (f) => (f.tpm = false)) });
    expect(p.hosts[0]!.blockers.join()).toMatch(/no TPM/);
    const q = planEncryption({ config: config(tang()), facts: facts('blank', (f) => (f.tools.curl = false)) });
    expect(q.hosts[0]!.blockers.join()).toMatch(/curl/);
  });

  it('opens and mounts where device-mapper is present', () => {
    const p = planEncryption({ config: config(tang()), facts: facts('blank', (f) => (f.deviceMapper = true)) });
    expect(p.hosts[0]!.unopened).toBe(false);
    expect(p.hosts[0]!.disks[0]).toMatchObject({ open: true, mount: true });
    const q = planEncryption({ config: config(tang()), facts: facts('blank') });
    expect(q.hosts[0]!.disks[0]).toMatchObject({ open: false, mount: false });
  });

  it('skips hosts with encryption off', () => {
    const p = planEncryption({ config: config({ ...tang() }, { encryption: { mode: 'none' } }), facts: facts('blank') });
    expect(p.hosts[0]!.disks).toEqual([]);
  });
});

describe('encryption settings', () => {
  it('a host override keeps the cluster values it does not name', () => {
    const cfg = config({ ...tang(), wipe: true, threshold: 1 }, { encryption: { mode: 'tpm2+tang' } });
    const s = hostEncryptionSettings(cfg, cfg.hosts[0]!);
    expect(s).toMatchObject({ mode: 'tpm2+tang', wipe: true, threshold: 1, disks: ['/dev/vdb'], pcrs: [7] });
    expect(s.tang).toHaveLength(1);
    expect(desiredBinding(s)).toMatchObject({ pin: 'sss', threshold: 1 });
  });

  it('one pin binds directly; several go through sss with threshold all by default', () => {
    const two = config({
      mode: 'tang',
      tang: [
        { url: TANG_URL, thumbprint: THP_A },
        { url: 'http://127.0.0.1:7599', thumbprint: THP_B },
      ],
    });
    expect(desiredBinding(hostEncryptionSettings(two, two.hosts[0]!))).toMatchObject({ pin: 'sss', threshold: 2 });
    const tpm = config({ mode: 'tpm2' });
    expect(desiredBinding(hostEncryptionSettings(tpm, tpm.hosts[0]!))).toEqual({ pin: 'tpm2', pcrs: [7] });
    const pass = config({ mode: 'passphrase' });
    expect(desiredBinding(hostEncryptionSettings(pass, pass.hosts[0]!))).toBeUndefined();
  });
});
