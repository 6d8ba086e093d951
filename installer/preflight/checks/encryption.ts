/** Per-host checks that apply only with disk encryption on: the TPM for a tpm2 pin, device-mapper, AES instructions. */
import type { HostConfig } from '../../config/schema.ts';
import { hostEncryptionSettings } from '../../encryption/settings.ts';
import type { CheckStatus } from '../types.ts';
import { finding, type HostCheck } from './finding.ts';

export const tpmPresent: HostCheck = (c) => {
  const mode = hostEncryptionSettings(c.config, c.host as HostConfig).mode;
  if (!mode.includes('tpm2')) return undefined;
  const t = c.facts.tpm;
  return finding(
    c,
    'tpm.present',
    'TPM 2.0',
    t.present ? 'pass' : 'fail',
    t.detail ?? (t.present ? 'present' : 'absent'),
    `TPM 2.0 (encryption mode ${mode})`,
    'enable the TPM in firmware, or choose encryption mode tang',
  );
};

export const deviceMapper: HostCheck = (c) => {
  const s = hostEncryptionSettings(c.config, c.host as HostConfig);
  if (s.mode === 'none') return undefined;
  const k = c.facts.kernel;
  const ok = k.deviceMapper === true && k.dmCrypt !== false;
  const measured =
    k.deviceMapper === undefined
      ? 'unknown'
      : !k.deviceMapper
        ? 'device-mapper missing'
        : k.dmCrypt === false
          ? 'device-mapper present, dm-crypt missing'
          : 'device-mapper and dm-crypt present';
  const status: CheckStatus = ok ? 'pass' : s.allowUnopened ? 'warn' : 'fail';
  return finding(
    c,
    'kernel.dm_crypt',
    'device-mapper / dm-crypt',
    status,
    measured,
    'dm_mod + dm_crypt (to open LUKS volumes)',
    s.allowUnopened
      ? 'encryption.allowUnopened: disks are formatted and bound but not opened'
      : 'use a kernel with dm_mod and dm_crypt, or set encryption.allowUnopened: true',
  );
};

export const cpuAes: HostCheck = (c) => {
  if (hostEncryptionSettings(c.config, c.host as HostConfig).mode === 'none') return undefined;
  if (!c.facts.cpu.flags.length) return undefined;
  return finding(
    c,
    'cpu.aes',
    'AES instructions',
    c.facts.cpu.aes ? 'pass' : 'warn',
    c.facts.cpu.aes ? 'aes' : 'no aes flag',
    'AES-NI (fast disk encryption)',
    'expect slow encrypted I/O; enable AES-NI in firmware or the hypervisor CPU model',
  );
};
