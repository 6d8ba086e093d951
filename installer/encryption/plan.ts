import type { PalisadeConfig } from '../config/schema.ts';
import { crypttabEntry, crypttabHas } from './crypttab.ts';
import { bindingMatches, describeBinding } from './luks.ts';
import { desiredBinding, hostEncryptionSettings, LUKS_SUBSYSTEM, recoveryKeyName, volumeName } from './settings.ts';
import type { Binding, DiskFacts, DiskPlan, EncryptionPlan, EscrowRecord, HostEncryptionFacts, HostEncryptionSettings, HostPlan } from './types.ts';

/**
 * Encryption planning: from host facts and the config, what to do with each
 * disk. Pure, so every decision that can destroy data is unit-tested.
 */

export interface PlanInput {
  config: PalisadeConfig;
  /** facts per host name; hosts without facts are left out of the plan */
  facts: ReadonlyMap<string, HostEncryptionFacts>;
  /**
   * What the keystore holds, by entry name (luks-recovery/<host>/<disk>). When
   * given, a LUKS2 header palisade made counts as ours only if the keystore has
   * its recovery key for that UUID; without it (plan without a passphrase), the
   * LUKS2 subsystem tag decides and apply checks the key.
   */
  escrow?: ReadonlyMap<string, EscrowRecord>;
  /** --allow-unopened: accept hosts without device-mapper */
  allowUnopened?: boolean;
}

export function planEncryption(input: PlanInput): EncryptionPlan {
  const hosts: HostPlan[] = [];
  for (const h of input.config.hosts) {
    const facts = input.facts.get(h.name);
    if (!facts) continue;
    const settings = hostEncryptionSettings(input.config, h);
    if (input.allowUnopened) settings.allowUnopened = true;
    hosts.push(planHost(settings, facts, input.escrow));
  }
  return { hosts };
}

/** Signatures found on a disk, in the operator's words. Empty: nothing recognised. */
export function describeContents(d: DiskFacts): string[] {
  const found: string[] = [];
  const b = d.blkid;
  const tag = (k: string) => (b[k] ? ` ${k.toLowerCase()} ${b[k]}` : '');
  if (b.TYPE === 'crypto_LUKS') {
    const mine = b.SUBSYSTEM === LUKS_SUBSYSTEM ? ', made by palisade' : b.SUBSYSTEM ? `, subsystem "${b.SUBSYSTEM}"` : '';
    found.push(`a LUKS${b.VERSION ?? ''} header (uuid ${b.UUID ?? '?'}${b.LABEL ? `, label "${b.LABEL}"` : ''}${mine})`);
  } else if (b.TYPE) {
    const what = b.USAGE === 'filesystem' ? `an ${b.TYPE} filesystem` : b.USAGE ? `a ${b.TYPE} signature (${b.USAGE})` : `a ${b.TYPE} signature`;
    found.push(`${what.replace(/^an ([^aeiou])/i, 'a $1')}${tag('UUID')}${b.LABEL ? ` label "${b.LABEL}"` : ''}`.trim());
  }
  if (b.PTTYPE) found.push(`a ${b.PTTYPE} partition table`);
  if (d.partitions.length > 0) found.push(`${d.partitions.length} partition(s): ${d.partitions.join(', ')}`);
  if (found.length === 0 && d.nonZeroHeadBytes > 0) found.push(`data palisade cannot identify (${d.nonZeroHeadBytes} non-zero bytes in the first MiB)`);
  return found;
}

function isOurs(d: DiskFacts): boolean {
  return d.blkid.TYPE === 'crypto_LUKS' && d.blkid.VERSION === '2' && d.blkid.SUBSYSTEM === LUKS_SUBSYSTEM && d.luks !== undefined;
}

function needsTang(s: HostEncryptionSettings): boolean {
  return s.mode === 'tang' || s.mode === 'tpm2+tang';
}
function needsTpm(s: HostEncryptionSettings): boolean {
  return s.mode === 'tpm2' || s.mode === 'tpm2+tang';
}

export function planHost(settings: HostEncryptionSettings, facts: HostEncryptionFacts, escrow?: ReadonlyMap<string, EscrowRecord>): HostPlan {
  const binding = settings.mode === 'none' ? undefined : desiredBinding(settings);
  const plan: HostPlan = { host: settings.host, mode: settings.mode, settings, disks: [], binding, blockers: [], unopened: !facts.deviceMapper };
  if (settings.mode === 'none') return plan;
  const unopened = !facts.deviceMapper;
  plan.disks = settings.disks.map((device, i) => {
    const d = facts.disks.find((x) => x.device === device);
    return planDisk({ settings, facts, disk: d, device, first: i === 0, binding, escrow, unopened });
  });

  const work = plan.disks.some((d) => d.action !== 'nothing' && d.action !== 'refuse');
  if (work) {
    const b = plan.blockers;
    const t = facts.tools;
    if (!t.cryptsetup) b.push('cryptsetup is not installed');
    if (binding && !t.clevis) b.push('clevis (clevis-luks) is not installed');
    if (needsTang(settings) && !t.clevisTang) b.push('the clevis tang pin is not installed');
    if (needsTang(settings) && !t.curl) b.push('curl is not installed (needed to check the Tang servers from the host)');
    if (needsTpm(settings) && !t.clevisTpm2) b.push('the clevis tpm2 pin (clevis-tpm2) is not installed');
    if (needsTpm(settings) && !facts.tpm) b.push('no TPM: no /dev/tpmrm0 and no TPM2TOOLS_TCTI in the host environment');
    if (plan.disks.some((d) => d.wipes.length > 0) && !t.wipefs) b.push('wipefs is not installed');
    if (unopened && !settings.allowUnopened) {
      b.push(
        'device-mapper is missing, so volumes cannot be opened here; set encryption.allowUnopened: true (or pass --allow-unopened) to format and bind the disks and leave them closed',
      );
    }
  }
  return plan;
}

interface DiskInput {
  settings: HostEncryptionSettings;
  facts: HostEncryptionFacts;
  disk: DiskFacts | undefined;
  device: string;
  first: boolean;
  binding: Binding | undefined;
  escrow: ReadonlyMap<string, EscrowRecord> | undefined;
  unopened: boolean;
}

function planDisk(x: DiskInput): DiskPlan {
  const volume = volumeName(x.device);
  const base: DiskPlan = {
    host: x.settings.host,
    device: x.device,
    action: 'refuse',
    reason: '',
    wipes: [],
    addBinding: undefined,
    removeSlots: [],
    volume,
    crypttabChange: true,
    luksUuid: undefined,
    open: !x.unopened,
    mount: !x.unopened && x.first && !x.facts.mountActive,
    bound: [],
  };
  const refuse = (reason: string): DiskPlan => ({ ...base, action: 'refuse', reason, open: false, mount: false });
  const d = x.disk;
  if (!d?.exists) return refuse(`${x.device} does not exist on ${x.settings.host}`);
  if (!d.isBlockDevice) return refuse(`${x.device} is not a block device`);
  if (d.readOnly) return refuse(`${x.device} is read-only`);
  if (d.mountpoints.length > 0) return refuse(`${x.device} is in use: mounted at ${d.mountpoints.join(', ')} (never formatted, even with wipe)`);

  const found = describeContents(d);
  const format = (reason: string): DiskPlan => ({ ...base, action: 'format', reason, wipes: found, addBinding: x.binding });

  if (isOurs(d) && d.luks) {
    const uuid = d.blkid.UUID;
    const record = x.escrow?.get(recoveryKeyName(x.settings.host, x.device));
    if (x.escrow && (!record || record.uuid !== uuid)) {
      const why = record
        ? `holds a LUKS2 header made by palisade (uuid ${uuid}) but the keystore's recovery key is for uuid ${record.uuid ?? 'unknown'}`
        : `holds a LUKS2 header made by palisade (uuid ${uuid}) whose recovery key is not in this keystore`;
      if (!x.settings.wipe)
        return refuse(`${x.device} ${why}; set encryption.wipe: true to format it anyway (DESTROYS ITS DATA), or use the keystore that holds its key`);
      return format(`${why}; wipe is set: it will be formatted`);
    }
    return planOurs(base, d, x);
  }

  if (found.length > 0) {
    const what = found.join('; ');
    if (!x.settings.wipe) return refuse(`${x.device} holds ${what}; set encryption.wipe: true to format it (DESTROYS ITS DATA)`);
    return format(`holds ${what}; wipe is set: it will be wiped and formatted`);
  }
  return format('blank: format LUKS2, escrow the recovery key, bind');
}

/** A LUKS2 volume palisade made: keep matching bindings, add the missing one, drop stale ones. */
function planOurs(base: DiskPlan, d: DiskFacts, x: DiskInput): DiskPlan {
  const luks = d.luks!;
  const uuid = d.blkid.UUID;
  const tokens = luks.tokens;
  const keep = x.binding ? tokens.find((t) => bindingMatches(t.binding, x.binding!)) : undefined;
  const stale = tokens.filter((t) => t !== keep);
  const protectedSlots = new Set([...luks.otherTokens.flatMap((t) => t.keyslots)]);
  const removeSlots = [...new Set(stale.flatMap((t) => t.keyslots))].filter((s) => !protectedSlots.has(s)).sort((a, b) => a - b);
  const addBinding = x.binding && !keep ? x.binding : undefined;
  const entry = crypttabEntry({ name: base.volume, uuid: uuid ?? '', netdev: usesTang(x.binding), noauto: x.unopened });
  const crypttabChange = !crypttabHas(x.facts.crypttab, entry);
  const open = !x.unopened && !d.mapped;
  const mount = base.mount;
  const plan: DiskPlan = {
    ...base,
    luksUuid: uuid,
    addBinding,
    removeSlots,
    crypttabChange,
    open,
    mount,
    bound: tokens.map((t) => `slot ${t.keyslots.join(',')}: ${describeBinding(t.binding)}`),
  };
  if (addBinding || removeSlots.length > 0) {
    const steps = [
      ...(addBinding ? [`bind ${describeBinding(addBinding)}`] : []),
      ...(removeSlots.length ? [`remove stale clevis slot(s) ${removeSlots.join(', ')}`] : []),
    ];
    const had = tokens.length ? `bound to ${tokens.map((t) => describeBinding(t.binding)).join(' + ')}` : 'LUKS2 by palisade, not bound yet';
    return { ...plan, action: 'rebind', reason: `${had}: ${steps.join(', then ')} (data and recovery slot untouched)` };
  }
  if (crypttabChange || open || mount) {
    const steps = [...(crypttabChange ? ['write its crypttab entry'] : []), ...(open ? ['open it'] : []), ...(mount ? ['mount the data directory'] : [])];
    return { ...plan, action: 'configure', reason: `bindings are as configured; ${steps.join(', ')}` };
  }
  return {
    ...plan,
    action: 'nothing',
    reason: x.binding ? `encrypted and bound to ${describeBinding(x.binding)}` : 'encrypted; recovery key only (mode passphrase)',
  };
}

export function usesTang(b: Binding | undefined): boolean {
  if (!b) return false;
  if (b.pin === 'tang') return true;
  return b.pin === 'sss' && b.pins.some(usesTang);
}

/** Does anything on any host need doing? */
export function planHasWork(plan: EncryptionPlan): boolean {
  return plan.hosts.some((h) => h.disks.some((d) => d.action !== 'nothing'));
}

/** Every refusal and blocker, for one error listing them all. */
export function planProblems(plan: EncryptionPlan): Array<{ path: string; message: string }> {
  const out: Array<{ path: string; message: string }> = [];
  for (const h of plan.hosts) {
    for (const b of h.blockers) out.push({ path: h.host, message: b });
    for (const d of h.disks) if (d.action === 'refuse') out.push({ path: `${h.host}:${d.device}`, message: d.reason });
  }
  return out;
}
