import { hostname as osHostname } from 'node:os';
import si from 'systeminformation';
import { log } from '../core/log.ts';
import { runLocal } from '../core/process.ts';
import { parseProbeOutput } from './parse.ts';
import { probeScript, type SectionName } from './probe.ts';
import type { DiskFacts, HostFacts } from './types.ts';

/** The admin machine's name in reports. */
export const ADMIN = '(admin)';

/**
 * What systeminformation does not know (routes, sysctls, kernel features, time
 * sync, resolver, TPM, ports, os-release ID) and NICs (si.networkInterfaces
 * takes over a second probing wifi and DHCP): the same probe sections the
 * remote hosts run, here through the local /bin/sh. Read-only; no disk probe.
 */
const LOCAL_SECTIONS: SectionName[] = ['osrelease', 'nics', 'cgroup', 'timesync', 'ports', 'kernel', 'sysctl', 'tpm', 'routes', 'resolv', 'fqdn'];

/** The probe script (read-only, built by facts/probe.ts) through the local /bin/sh; whatever it printed, even when it failed. */
async function runProbe(script: string): Promise<string> {
  const r = await runLocal('/bin/sh', ['-c', script], { timeoutMs: 30_000 });
  if (r.code !== 0) log.debug(`local probe: ${r.failure ?? `exit ${r.code}`}: ${r.stderr.trim().slice(0, 200)}`);
  return r.stdout;
}

const blockToDisk = (b: si.Systeminformation.BlockDevicesData): DiskFacts => ({
  name: b.name,
  path: b.device || `/dev/${b.name}`,
  sizeBytes: b.size || 0,
  type: b.type || 'unknown',
  ...(b.model ? { model: b.model } : {}),
  ...(b.serial ? { serial: b.serial } : {}),
  mountpoints: b.mount ? [b.mount] : [],
  ...(b.fsType ? { fstype: b.fsType } : {}),
  ...(b.physical === 'HDD' ? { rotational: true } : b.physical === 'SSD' || b.physical === 'NVMe' ? { rotational: false } : {}),
  children: [],
});

/** The admin machine's facts: hardware and identity from systeminformation, the rest from the local probe sections. */
export async function localFacts(opts: { fqdn: string }): Promise<HostFacts> {
  const started = Date.now();
  const [cpu, flags, mem, blocks, osInfo, uuid, system, probeText] = await Promise.all([
    si.cpu(),
    si.cpuFlags(),
    si.mem(),
    si.blockDevices().catch(() => []),
    si.osInfo(),
    si.uuid().catch(() => ({ os: '', hardware: '', macs: [] })),
    si.system().catch(() => undefined),
    runProbe(probeScript({ fqdn: opts.fqdn, only: LOCAL_SECTIONS })),
  ]);
  const probed = parseProbeOutput(probeText.includes('==== end ====') ? probeText : `${probeText}\n==== end ====\n`, { name: ADMIN, fqdn: opts.fqdn });
  const flagList = flags.split(/\s+/).filter(Boolean);
  // partitions hang under their disk, as lsblk shows them
  const disks = blocks.filter((b) => b.type === 'disk').map(blockToDisk);
  for (const b of blocks.filter((x) => x.type === 'part')) {
    const parent = disks.find((d) => b.name.startsWith(d.name));
    if (parent) parent.children.push(blockToDisk(b));
  }
  const productUuid = system?.uuid && !/^0+(-0+)*$/.test(system.uuid.replace(/-/g, '')) ? system.uuid.toLowerCase() : undefined;
  const now = Date.now();
  log.debug(`local facts in ${now - started} ms`);
  return {
    ...probed,
    source: 'local',
    hostname: osInfo.hostname || osHostname(),
    ...(uuid.os ? { machineId: uuid.os.replace(/-/g, '') } : {}),
    ...(productUuid ? { productUuid } : {}),
    cpu: {
      ...(cpu.brand ? { model: `${cpu.manufacturer} ${cpu.brand}`.trim() } : {}),
      cores: cpu.physicalCores,
      threads: cpu.cores,
      flags: flagList,
      aes: flagList.includes('aes'),
      ...(flagList.includes('vmx') ? { virtualization: 'vmx' as const } : flagList.includes('svm') ? { virtualization: 'svm' as const } : {}),
    },
    memory: { totalBytes: mem.total, availableBytes: mem.available, swapTotalBytes: mem.swaptotal, swapFreeBytes: mem.swapfree },
    disks,
    os: {
      ...probed.os,
      kernel: osInfo.kernel,
      arch: osInfo.arch === 'x64' ? 'x86_64' : osInfo.arch,
      ...(probed.os.prettyName ? {} : { prettyName: `${osInfo.distro} ${osInfo.release}`.trim() }),
    },
    // the admin clock is the reference: skew 0 by definition
    time: { ...probed.time, epochMs: now, sentAtMs: now, receivedAtMs: now },
    notes: probed.notes.filter((n) => !n.startsWith('clock:') && !n.startsWith('disks:') && !n.startsWith('memory:')),
  };
}
