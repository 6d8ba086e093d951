/** Per-host checks of the data disk: present, not in use, empty (or the appliance's own), big enough, fast enough to sync. */
import type { HostConfig } from '../../config/schema.ts';
import { hostEncryptionSettings } from '../../encryption/settings.ts';
import type { CheckStatus } from '../types.ts';
import { finding, gb, type HostCheck, type HostCheckContext, ms } from './finding.ts';

export const FSYNC_FAIL_MS = 10;
export const FSYNC_WARN_MS = 5;

export const diskPresent: HostCheck = (c) => {
  const dev = c.host.dataDisk;
  if (!dev)
    return finding(
      c,
      'disk.present',
      'data disk',
      'warn',
      'none configured',
      'a dedicated data disk',
      `set hosts[].dataDisk for ${c.host.name} (appliance data would share the root filesystem)`,
    );
  const d = c.facts.dataDisk;
  if (!d?.exists)
    return finding(
      c,
      'disk.present',
      'data disk',
      'fail',
      `${dev} does not exist`,
      `${dev} present`,
      `attach the disk, or correct hosts[].dataDisk (lsblk lists the host's disks)`,
    );
  if (!d.isBlockDevice)
    return finding(
      c,
      'disk.present',
      'data disk',
      'fail',
      `${dev} is not a block device`,
      `${dev} a block device`,
      'point hosts[].dataDisk at a whole disk, e.g. /dev/sdb',
    );
  return finding(c, 'disk.present', 'data disk', 'pass', `${dev}${d.devno ? ` (${d.devno})` : ''}`, `${dev} present`);
};

const diskReady = (c: HostCheckContext) => (c.host.dataDisk && c.facts.dataDisk?.exists && c.facts.dataDisk.isBlockDevice ? c.facts.dataDisk : undefined);

export const diskUnmounted: HostCheck = (c) => {
  const d = diskReady(c);
  if (!d) return undefined;
  const all = [...d.mountpoints.map((m) => `mounted at ${m}`), ...d.holders.map((h) => `held by ${h}`)];
  const ours = all.filter((u) => c.owned?.diskUsers.includes(u));
  const busy = all.filter((u) => !ours.includes(u));
  if (!busy.length && c.owned?.disk)
    return finding(
      c,
      'disk.unmounted',
      'data disk in use',
      'pass',
      ours.length ? `in use by the appliance: ${ours.join(', ')}` : `${c.owned.disk.what}, not mounted by anything else`,
      'not mounted, not held by dm/md (other than the appliance)',
    );
  return finding(
    c,
    'disk.unmounted',
    'data disk in use',
    busy.length ? 'fail' : 'pass',
    busy.length ? busy.join(', ') : 'not mounted, no holders',
    'not mounted, not held by dm/md',
    `unmount it (umount) and remove it from /etc/fstab; palisade never touches a disk in use`,
  );
};

export const diskNoFilesystem: HostCheck = (c) => {
  const d = diskReady(c);
  if (!d) return undefined;
  const wipe = hostEncryptionSettings(c.config, c.host as HostConfig).wipe;
  const found = [
    d.fstype ? `${d.fstype} signature` : '',
    d.ptType ? `${d.ptType} partition table` : '',
    d.partitions.length ? `partitions ${d.partitions.join(', ')}` : '',
  ].filter(Boolean);
  if (!found.length) return finding(c, 'disk.empty', 'data disk contents', 'pass', 'no filesystem or partitions', 'empty (or encryption.wipe: true)');
  if (c.owned?.disk && d.fstype === 'crypto_LUKS' && !d.ptType && !d.partitions.length)
    return finding(c, 'disk.empty', 'data disk contents', 'pass', `in use by the appliance: ${c.owned.disk.what}`, "empty, or the appliance's own volume");
  return finding(
    c,
    'disk.empty',
    'data disk contents',
    wipe ? 'warn' : 'fail',
    found.join(', '),
    'empty (or encryption.wipe: true)',
    wipe
      ? 'encryption.wipe is true: this data WILL BE DESTROYED'
      : `wipe it yourself (wipefs -a ${d.device}) after checking it holds nothing you need, or set encryption.wipe: true`,
  );
};

export const diskSize: HostCheck = (c) => {
  const d = diskReady(c);
  if (!d) return undefined;
  const need = c.sizing.diskGB * 1e9;
  if (d.sizeBytes === undefined)
    return finding(c, 'disk.size', 'data disk size', 'fail', 'unknown', `>= ${c.sizing.diskGB} GB`, 'check `blockdev --getsize64` on the host');
  return finding(
    c,
    'disk.size',
    'data disk size',
    d.sizeBytes >= need ? 'pass' : 'fail',
    gb(d.sizeBytes),
    `>= ${c.sizing.diskGB} GB (${c.host.role}, ${c.config.sizing.profile})`,
    `use a disk of at least ${c.sizing.diskGB} GB`,
  );
};

export const diskLatency: HostCheck = (c) => {
  const l = c.facts.diskLatency;
  const req = `fdatasync p99 <= ${FSYNC_FAIL_MS} ms (etcd), warn > ${FSYNC_WARN_MS} ms`;
  if (!l)
    return finding(
      c,
      'disk.latency',
      'disk sync latency',
      'warn',
      `not measured: ${c.facts.notes.find((n) => n.startsWith('disk latency'))?.replace(/^disk latency: /, '') ?? 'no result'}`,
      req,
      'install fio on the host, or measure with `fio --fdatasync=1`',
    );
  let status: CheckStatus = l.p99Ms > FSYNC_FAIL_MS ? 'fail' : l.p99Ms > FSYNC_WARN_MS ? 'warn' : 'pass';
  // the dd fallback times a process start with every write: its tail is partly the scheduler's, so it never fails alone
  const coarse = l.method === 'dd' && status === 'fail';
  if (coarse) status = 'warn';
  return finding(
    c,
    'disk.latency',
    'disk sync latency',
    status,
    `p99 ${ms(l.p99Ms)} (${l.method}, ${l.samples} writes in ${l.path.replace(/\/\.palisade-preflight.*$/, '')})`,
    req,
    coarse
      ? 'dd is coarse (process start-up jitter): install fio on the host for a figure that can fail'
      : 'put /var/lib on an SSD/NVMe, or a controller with a write cache',
  );
};
