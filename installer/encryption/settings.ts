import type { HostConfig, PalisadeConfig } from '../config/schema.ts';
import type { Binding, HostEncryptionSettings } from './types.ts';

export const DEFAULT_MOUNT_POINT = '/var/lib/palisade';
/** LUKS2 subsystem tag palisade writes: how a header made by palisade is told from anyone else's */
export const LUKS_SUBSYSTEM = 'palisade';

/** Cluster encryption settings with the host's override on top. */
export function hostEncryptionSettings(config: PalisadeConfig, host: HostConfig): HostEncryptionSettings {
  const enc = { ...config.encryption, ...(host.encryption ?? {}) };
  const disks = enc.disks?.length ? enc.disks : host.dataDisk ? [host.dataDisk] : [];
  return {
    host: host.name,
    mode: enc.mode ?? 'none',
    disks: [...new Set(disks)],
    tang: enc.tang ?? [],
    threshold: enc.threshold,
    pcrs: [...new Set(enc.tpm2?.pcrs ?? [7])].sort((a, b) => a - b),
    wipe: enc.wipe ?? false,
    cipher: enc.cipher ?? 'aes-xts-plain64',
    pbkdf: enc.pbkdf ?? 'argon2id',
    pbkdfMemoryKiB: enc.pbkdfMemoryKiB,
    iterTimeMs: enc.iterTimeMs,
    pbkdfIterations: enc.pbkdfIterations,
    allowUnopened: enc.allowUnopened ?? false,
    mountPoint: enc.mountPoint ?? DEFAULT_MOUNT_POINT,
  };
}

/** How many pins a mode binds: every Tang server plus the TPM. */
export function pinCount(s: Pick<HostEncryptionSettings, 'mode' | 'tang'>): number {
  const tang = s.mode === 'tang' || s.mode === 'tpm2+tang' ? s.tang.length : 0;
  const tpm = s.mode === 'tpm2' || s.mode === 'tpm2+tang' ? 1 : 0;
  return tang + tpm;
}

/**
 * The binding the config asks for, or undefined when no clevis binding is
 * wanted (mode passphrase: the escrowed recovery key is the only key).
 * One pin binds directly; several go through Shamir (sss) with the threshold.
 */
export function desiredBinding(s: HostEncryptionSettings): Binding | undefined {
  const pins: Binding[] = [];
  if (s.mode === 'tang' || s.mode === 'tpm2+tang') {
    for (const t of s.tang) pins.push({ pin: 'tang', url: normalizeUrl(t.url), thumbprints: [t.thumbprint] });
  }
  if (s.mode === 'tpm2' || s.mode === 'tpm2+tang') pins.push({ pin: 'tpm2', pcrs: s.pcrs });
  if (pins.length === 0) return undefined;
  if (pins.length === 1) return pins[0];
  return { pin: 'sss', threshold: Math.min(s.threshold ?? pins.length, pins.length), pins };
}

/** Tang URLs compare without a trailing slash. */
export function normalizeUrl(url: string): string {
  return url.replace(/\/+$/, '');
}

/** crypttab volume name for a disk: `palisade-<device basename>`, safe for systemd unit names. */
export function volumeName(device: string): string {
  const base = device.split('/').filter(Boolean).pop() ?? 'disk';
  return `palisade-${base.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

/** Keystore entry name of a disk's recovery key. */
export function recoveryKeyName(host: string, device: string): string {
  return `luks-recovery/${host}/${device.replace(/^\/dev\//, '')}`;
}
