import { sh } from '../core/quote.ts';
import { clevisPinConfig } from './luks.ts';
import { LUKS_SUBSYSTEM } from './settings.ts';
import type { Binding, HostEncryptionSettings } from './types.ts';

/**
 * Command lines run on a host. Every one is built with `sh` (each value quoted)
 * and none carries key material: keys travel on stdin (`--key-file=-`, `-k -`).
 */

/**
 * Every remote script starts here: a known PATH and locale, and the host's
 * /etc/environment, where a TPM TCTI (`TPM2TOOLS_TCTI`) is configured when the
 * TPM is not a local device node: a sudo or non-login shell does not read it.
 */
export const REMOTE_PRELUDE = [
  'export LC_ALL=C PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  // only the TCTI variables, read as data: sourcing the whole file could run anything in it
  `for v in TPM2TOOLS_TCTI TSS2_TCTI; do if [ -z "$(printenv "$v")" ] && [ -r /etc/environment ]; then x=$(sed -n "s/^[[:space:]]*\\(export[[:space:]]\\{1,\\}\\)\\{0,1\\}$v=//p" /etc/environment | tail -n 1 | tr -d "\\"'"); if [ -n "$x" ]; then export "$v=$x"; fi; fi; done`,
].join('\n');

const withPrelude = (cmd: string): string => `${REMOTE_PRELUDE}\n${cmd}`;

/**
 * A TPM reached straight through a TCTI (swtpm, mssim) has no resource manager:
 * each `clevis encrypt tpm2` leaves an auth session loaded, and after three the
 * TPM refuses new ones ("out of memory for session contexts"). With such a TCTI,
 * palisade flushes loaded and saved sessions before and after its TPM work. A
 * kernel resource manager (/dev/tpmrm0) cleans up by itself: nothing is flushed.
 */
const TPM_FLUSH =
  'case "${TPM2TOOLS_TCTI:-}" in swtpm:*|mssim:*) tpm2_flushcontext --loaded-session </dev/null >/dev/null 2>&1; tpm2_flushcontext --saved-session </dev/null >/dev/null 2>&1;; esac';

function withTpmFlush(cmd: string): string {
  return `${TPM_FLUSH}\n${cmd}\npalisade_rc=$?\n${TPM_FLUSH}\nexit $palisade_rc`;
}

function usesTpm(b: Binding): boolean {
  return b.pin === 'tpm2' || (b.pin === 'sss' && b.pins.some(usesTpm));
}

export interface FormatOptions {
  device: string;
  uuid: string;
  label: string;
  settings: Pick<HostEncryptionSettings, 'cipher' | 'pbkdf' | 'pbkdfMemoryKiB' | 'iterTimeMs'> & Partial<Pick<HostEncryptionSettings, 'pbkdfIterations'>>;
}

/** Printed on stderr when the command was killed by a signal (the shell's exit code says which). */
export const SIGNAL_MARKER = '@@palisade-killed-by-signal';

/**
 * luksFormat with the recovery key on stdin. The UUID is chosen (and escrowed) before.
 * With a fixed cost (pbkdfIterations) cryptsetup skips its PBKDF benchmark, which
 * can die of SIGFPE when it measures 0 ms (very low --iter-time on a busy host).
 * The command does not replace the shell, so a signal death shows as exit 128+N
 * with a marker on stderr.
 */
export function luksFormatCommand(o: FormatOptions): string {
  const s = o.settings;
  const args = ['cryptsetup', 'luksFormat', '--type', 'luks2', '--batch-mode', '--cipher', s.cipher, '--pbkdf', s.pbkdf];
  if (s.pbkdfMemoryKiB !== undefined && s.pbkdf !== 'pbkdf2') args.push('--pbkdf-memory', String(s.pbkdfMemoryKiB));
  if (s.pbkdfIterations !== undefined) {
    args.push('--pbkdf-force-iterations', String(s.pbkdf === 'pbkdf2' ? Math.max(1000, s.pbkdfIterations) : s.pbkdfIterations));
    if (s.pbkdf !== 'pbkdf2') args.push('--pbkdf-parallel', '1');
  } else if (s.iterTimeMs !== undefined) args.push('--iter-time', String(s.iterTimeMs));
  args.push('--label', o.label, '--subsystem', LUKS_SUBSYSTEM, '--uuid', o.uuid, '--key-file=-', o.device);
  return withPrelude(`${sh`${args}`}
palisade_rc=$?
if [ $palisade_rc -gt 128 ]; then echo "${SIGNAL_MARKER} $((palisade_rc - 128))" >&2; fi
exit $palisade_rc`);
}

/** Remove every signature (filesystem, partition table, old LUKS header) before formatting. */
export function wipeCommand(device: string): string {
  return withPrelude(sh`wipefs --all --quiet ${device}`);
}

/**
 * A bind holds a lock per device on the host for as long as clevis runs, so a
 * bind left running by a killed run (clevis goes on after its caller is gone)
 * is waited for before a resumed run looks at the header. In /run: gone at
 * boot, together with every bind that could hold it.
 */
export function bindLockPath(device: string): string {
  return `/run/palisade/bind${device.replace(/[^A-Za-z0-9._-]/g, '_')}.lock`;
}

/** How long a bind waits for another bind of the same device; flock then exits with BIND_LOCK_BUSY. */
export const BIND_LOCK_WAIT_SECONDS = 600;
export const BIND_LOCK_BUSY = 75;

const underBindLock = (device: string, cmd: string): string =>
  `${sh`mkdir -p /run/palisade && flock -w ${BIND_LOCK_WAIT_SECONDS} -E ${BIND_LOCK_BUSY} ${bindLockPath(device)}`} ${cmd}`;

/** Bind a clevis pin under the device's bind lock; the existing key (the recovery key) goes on stdin. */
export function clevisBindCommand(device: string, binding: Binding): string {
  const { pin, config } = clevisPinConfig(binding);
  const cmd = underBindLock(device, sh`clevis luks bind -y -d ${device} -k - ${pin} ${JSON.stringify(config)}`);
  return withPrelude(usesTpm(binding) ? withTpmFlush(cmd) : cmd);
}

/** Returns once no bind of `device` is running on the host (exit BIND_LOCK_BUSY after the wait). */
export function waitForBindCommand(device: string): string {
  return withPrelude(underBindLock(device, 'true'));
}

/** Remove a clevis binding: its key slot and its token. */
export function clevisUnbindCommand(device: string, slot: number): string {
  return withPrelude(sh`clevis luks unbind -f -d ${device} -s ${slot}`);
}

/** Does the key on stdin open the volume? `--key-slot` narrows it to one slot. */
export function testKeyCommand(device: string, slot?: number): string {
  return withPrelude(
    slot === undefined
      ? sh`cryptsetup open --test-passphrase --key-file=- ${device}`
      : sh`cryptsetup open --test-passphrase --key-slot ${slot} --key-file=- ${device}`,
  );
}

export const PASS_FAILED_MARKER = '@@palisade-clevis-pass-failed';

/**
 * Does the pin bound to a slot release a key that opens that slot? The key goes
 * from clevis to cryptsetup through a pipe on the host and never reaches palisade.
 */
export function pinReleaseCommand(device: string, slot: number): string {
  return withPrelude(
    withTpmFlush(
      sh`{ clevis luks pass -d ${device} -s ${slot} || echo ${PASS_FAILED_MARKER} >&2; } | cryptsetup open --test-passphrase --key-slot ${slot} --key-file=- ${device}`,
    ),
  );
}

/** Fetch a Tang advertisement from the host itself: what matters is that the host reaches Tang. */
export function tangAdvertisementCommand(url: string, timeoutSeconds = 10): string {
  return withPrelude(sh`curl -fsS --max-time ${timeoutSeconds} ${`${url.replace(/\/+$/, '')}/adv`}`);
}

export const TPM_PROBE_TEXT = 'palisade-tpm-probe';

/** Seal and unseal a known, non-secret text with the TPM under the configured PCR policy. */
export function tpmProbeCommand(pcrs: number[]): string {
  return withPrelude(withTpmFlush(sh`printf %s ${TPM_PROBE_TEXT} | clevis encrypt tpm2 ${JSON.stringify({ pcr_ids: pcrs.join(',') })} | clevis decrypt`));
}

export function luksDumpCommand(device: string): string {
  return withPrelude(
    sh`cryptsetup luksDump --dump-json-metadata ${device} && echo && echo @@uuid && cryptsetup luksUUID ${device} && echo @@clevis && clevis luks list -d ${device}`,
  );
}

/** Open with clevis (pins) or with the key on stdin (passphrase mode). Needs device-mapper. */
export function openCommand(device: string, name: string, withPins: boolean): string {
  return withPrelude(
    withPins
      ? withTpmFlush(sh`[ -e ${`/dev/mapper/${name}`} ] || clevis luks unlock -d ${device} -n ${name}`)
      : sh`[ -e ${`/dev/mapper/${name}`} ] || cryptsetup open --key-file=- ${device} ${name}`,
  );
}

/** Make a filesystem on a freshly opened volume, never on one that has a signature. */
export function mkfsCommand(name: string): string {
  const dev = `/dev/mapper/${name}`;
  return withPrelude(sh`if blkid -p ${dev} >/dev/null 2>&1; then echo existing; else mkfs.ext4 -q -L palisade-data ${dev} && echo created; fi`);
}

export function enableMountCommand(unit: string, mountPoint: string): string {
  return withPrelude(sh`mkdir -p ${mountPoint} && systemctl daemon-reload && systemctl enable --now ${unit}`);
}

export function daemonReloadCommand(): string {
  return withPrelude('systemctl daemon-reload >/dev/null 2>&1 || true');
}
