import { PalisadeError } from '../core/errors.ts';
import { kvAll, num, parseKv, splitSections } from './parse-text.ts';
import { parseDataDisk, parseLatency, parseLsblk } from './parse-disks.ts';
import { parseAddresses, parseListeningPorts, parseNameservers, parseNics, parseRoutes } from './parse-network.ts';
import type { CpuFacts, HostFacts, MemoryFacts, OsFacts, TimeFacts } from './types.ts';

/**
 * Pure parsers for the probe's output (probe.ts). Each takes the text of one
 * section and returns typed facts; nothing here touches a host, so every
 * parser is tested on recorded outputs.
 */

export { parseKv, splitSections } from './parse-text.ts';
export { parseDataDisk, parseLatency, parseLsblk, percentile } from './parse-disks.ts';
export { parseAddresses, parseListeningPorts, parseNameservers, parseNics, parseRoutes } from './parse-network.ts';

/** Epoch ms from `date +%s%N` (19 digits) or `date +%s` + 9 zeros. */
export function parseClock(body: string | undefined): number | undefined {
  const s = (body ?? '').trim().split('\n')[0]?.trim() ?? '';
  if (!/^\d{10,}$/.test(s)) return undefined;
  return s.length > 13 ? Number(s.slice(0, s.length - 6)) : Number(s) * 1000;
}

export function parseOsRelease(body: string | undefined): Omit<OsFacts, 'kernel' | 'arch'> {
  const kv: Record<string, string> = {};
  for (const line of (body ?? '').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m?.[1] && m[2] !== undefined) kv[m[1]] = m[2].replace(/^(["'])(.*)\1$/, '$2');
  }
  return {
    ...(kv.ID ? { id: kv.ID.toLowerCase() } : {}),
    idLike: (kv.ID_LIKE ?? '').toLowerCase().split(/\s+/).filter(Boolean),
    ...(kv.VERSION_ID ? { versionId: kv.VERSION_ID } : {}),
    ...(kv.PRETTY_NAME ? { prettyName: kv.PRETTY_NAME } : {}),
  };
}

export function parseCpuinfo(body: string | undefined, nproc?: number): CpuFacts {
  let model: string | undefined;
  let flags: string[] = [];
  let processors = 0;
  const cores = new Set<string>();
  let phys = '0';
  let coresPerSocket: number | undefined;
  for (const line of (body ?? '').split('\n')) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const k = line.slice(0, i).trim();
    const v = line.slice(i + 1).trim();
    if (k === 'processor') processors++;
    else if (k === 'model name' && model === undefined) model = v;
    else if (k === 'flags' && flags.length === 0) flags = v.split(/\s+/).filter(Boolean);
    else if (k === 'physical id') phys = v;
    else if (k === 'core id') cores.add(`${phys}:${v}`);
    else if (k === 'cpu cores' && coresPerSocket === undefined) coresPerSocket = num(v);
  }
  const threads = nproc ?? (processors || undefined);
  const coreCount = cores.size || coresPerSocket || threads;
  return {
    ...(model ? { model } : {}),
    ...(coreCount ? { cores: coreCount } : {}),
    ...(threads ? { threads } : {}),
    flags,
    aes: flags.includes('aes'),
    ...(flags.includes('vmx') ? { virtualization: 'vmx' as const } : flags.includes('svm') ? { virtualization: 'svm' as const } : {}),
  };
}

export function parseMeminfo(body: string | undefined): MemoryFacts {
  const kb: Record<string, number> = {};
  for (const line of (body ?? '').split('\n')) {
    const m = /^(\w+):\s+(\d+)\s*kB/.exec(line.trim());
    if (m?.[1] && m[2]) kb[m[1]] = Number(m[2]) * 1024;
  }
  const out: MemoryFacts = {};
  if (kb.MemTotal !== undefined) out.totalBytes = kb.MemTotal;
  if (kb.MemAvailable !== undefined) out.availableBytes = kb.MemAvailable;
  // no SwapTotal line (some containers, stripped kernels) means: unknown, not "no swap"
  if (kb.SwapTotal !== undefined) out.swapTotalBytes = kb.SwapTotal;
  if (kb.SwapFree !== undefined) out.swapFreeBytes = kb.SwapFree;
  return out;
}

export function parseCgroup(body: string | undefined): 1 | 2 | undefined {
  const t = (body ?? '').trim();
  if (t === 'cgroup2fs') return 2;
  if (t === 'tmpfs') return 1;
  return undefined;
}
export function parseTimeSync(
  chrony: string | undefined,
  timedatectl: string | undefined,
): Pick<TimeFacts, 'service' | 'synchronized' | 'offsetMs' | 'source' | 'detail'> {
  const c = (chrony ?? '').trim();
  if (c.includes('Reference ID')) {
    const field = (k: string) => new RegExp(`^${k}\\s*:\\s*(.*)$`, 'm').exec(c)?.[1]?.trim();
    const ref = field('Reference ID') ?? '';
    const leap = field('Leap status') ?? '';
    const sys = /^System time\s*:\s*([\d.]+) seconds (fast|slow)/m.exec(c);
    const refId = ref.split(/\s+/)[0] ?? '';
    const synchronized = !/not synchronised/i.test(leap) && refId !== '00000000' && refId !== '';
    const source = /\(([^)]*)\)/.exec(ref)?.[1];
    return {
      service: 'chrony',
      synchronized,
      ...(sys?.[1] ? { offsetMs: Number(sys[1]) * 1000 * (sys[2] === 'slow' ? -1 : 1) } : {}),
      ...(source ? { source } : {}),
    };
  }
  const t = parseKv(timedatectl);
  // timedatectl speaks for whichever NTP service systemd manages (timesyncd, or chrony on some distributions)
  if (t.NTPSynchronized === 'yes') return { service: 'timesyncd', synchronized: true };
  if (c.startsWith('# chronyc')) {
    const why = /Cannot talk to daemon/i.test(c) ? 'chronyd is not running' : c.split('\n')[1]?.trim() || 'chronyc printed nothing';
    return { service: 'chrony', synchronized: false, detail: why };
  }
  if (t.NTPSynchronized !== undefined) {
    return { service: 'timesyncd', synchronized: false, detail: t.NTP === 'no' ? 'no NTP service enabled (timedatectl NTP=no)' : 'timesyncd not synchronised' };
  }
  return {};
}
export function parseKernel(body: string | undefined): HostFacts['kernel'] {
  const k = parseKv(body);
  if (Object.keys(k).length === 0) return {};
  const on = (...keys: string[]) => keys.some((x) => k[x] === '1');
  const deviceMapper = on('dm.misc', 'dm.modprobe');
  return {
    overlay: on('overlay.fs', 'overlay.module', 'overlay.modprobe'),
    brNetfilter: on('br_netfilter.module', 'br_netfilter.sysctl', 'br_netfilter.modprobe'),
    deviceMapper,
    dmCrypt: deviceMapper && on('dm_crypt.module', 'dm_crypt.builtin', 'dm_crypt.modprobe'),
  };
}

export function parseTpm(body: string | undefined): HostFacts['tpm'] {
  const k = parseKv(body);
  const devices = kvAll(body, 'device');
  if (devices.length) return { present: true, via: 'device', detail: devices.join(', ') };
  if (k.tcti) {
    if (k.getcap === '2.0') return { present: true, via: 'tcti', detail: `TCTI ${k.tcti} answers (TPM 2.0)` };
    if (k.getcap === 'missing-tool') return { present: false, detail: `TCTI ${k.tcti} is set but tpm2_getcap is not installed to prove it` };
    return { present: false, detail: `TCTI ${k.tcti} is set but the TPM does not answer${k.getcap ? ` (family ${k.getcap})` : ''}` };
  }
  return { present: false, detail: 'no /dev/tpm0 or /dev/tpmrm0 and no TCTI configured' };
}
export interface ProbeContext {
  name: string;
  address?: string;
  fqdn: string;
  dataDisk?: string;
  sentAtMs?: number;
  receivedAtMs?: number;
}

/** Parse the whole probe output into HostFacts. Throws when the output is not from the probe or was cut short. */
export function parseProbeOutput(text: string, ctx: ProbeContext): HostFacts {
  const s = splitSections(text);
  if (!s.has('end')) {
    throw new PalisadeError(
      'facts.truncated',
      `${ctx.name}: the facts probe did not finish (its output stops${s.size ? ` after section "${[...s.keys()].pop()}"` : ' before the first section'})`,
      {
        hint: 'run with -v to see the probe output; check that the host has a POSIX /bin/sh and the SSH user can sudo without a prompt',
      },
    );
  }
  const notes: string[] = [];
  const id = parseKv(s.get('identity'));
  const nproc = num(id.nproc);
  const epochMs = parseClock(s.get('clock'));
  if (epochMs === undefined) notes.push('clock: could not read the host clock');
  const sync = parseTimeSync(s.get('chrony'), s.get('timedatectl'));
  if (!sync.service) notes.push('time sync: neither chronyc nor timedatectl answered');
  const meminfo = parseMeminfo(s.get('meminfo'));
  if (meminfo.swapTotalBytes === undefined) notes.push('memory: /proc/meminfo has no SwapTotal line');
  const disks = parseLsblk(s.get('lsblk'));
  if (!disks) notes.push('disks: lsblk printed nothing (not installed?)');
  const nics = parseNics(s.get('nics'));
  if (!nics) notes.push('network: neither `ip -j addr` nor /sys/class/net could be read');
  const ports = parseListeningPorts(s.get('ports'));
  if (!ports) notes.push('ports: neither ss nor /proc/net/tcp could be read');
  const kernel = parseKernel(s.get('kernel'));
  const lat = s.has('latency') ? parseLatency(s.get('latency')) : {};
  if (lat.note) notes.push(lat.note);
  const cgroup = parseCgroup(s.get('cgroup'));
  const osr = parseOsRelease(s.get('osrelease'));
  if (!osr.id) notes.push('os: /etc/os-release is missing');
  const routes = parseRoutes(s.get('routes'));
  if (s.has('routes') && routes.publicProbes.length === 0) notes.push('routes: `ip route get` is not available');
  return {
    name: ctx.name,
    ...(ctx.address ? { address: ctx.address } : {}),
    source: 'probe',
    ...(id.hostname ? { hostname: id.hostname } : {}),
    ...(id.machine_id ? { machineId: id.machine_id } : {}),
    ...(id.product_uuid ? { productUuid: id.product_uuid.toLowerCase() } : {}),
    cpu: parseCpuinfo(s.get('cpuinfo'), nproc),
    memory: meminfo,
    disks: disks ?? [],
    ...(ctx.dataDisk && s.has('datadisk') ? { dataDisk: parseDataDisk(ctx.dataDisk, s.get('datadisk')) } : {}),
    nics: nics ?? [],
    os: { ...osr, ...(id.kernel ? { kernel: id.kernel } : {}), ...(id.arch ? { arch: id.arch } : {}) },
    ...(cgroup ? { cgroupVersion: cgroup } : {}),
    time: {
      ...(epochMs !== undefined ? { epochMs } : {}),
      ...(ctx.sentAtMs !== undefined ? { sentAtMs: ctx.sentAtMs } : {}),
      ...(ctx.receivedAtMs !== undefined ? { receivedAtMs: ctx.receivedAtMs } : {}),
      ...sync,
    },
    ...(ports ? { listeningPorts: ports } : {}),
    kernel,
    sysctls: parseKv(s.get('sysctl')),
    tpm: parseTpm(s.get('tpm')),
    routes,
    nameservers: parseNameservers(s.get('resolv')),
    fqdn: { name: ctx.fqdn, addresses: parseAddresses(s.get('fqdn')) },
    ...(lat.latency ? { diskLatency: lat.latency } : {}),
    notes,
  };
}
