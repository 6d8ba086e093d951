import type { HostConfig, PalisadeConfig } from '../config/schema.ts';
import type { ApplianceOwned } from './appliance.ts';
import { hostEncryptionSettings } from '../encryption/settings.ts';
import type { HostFacts } from '../facts/types.ts';
import { cidrsOverlap, isLoopback, parseCidr4 } from './net.ts';
import { MEMORY_TOLERANCE, type RoleSizing } from './profiles.ts';
import type { CheckStatus, Finding } from './types.ts';

/**
 * Per-host checks: pure functions of (config, host, facts). Each returns a
 * Finding with the measured value, the requirement and a one-line fix, or
 * nothing when the check does not apply (e.g. TPM with encryption off).
 */
export interface HostCheckContext {
  config: PalisadeConfig;
  host: Pick<HostConfig, 'name' | 'role' | 'address'> & Partial<Pick<HostConfig, 'dataDisk' | 'encryption'>>;
  facts: HostFacts;
  sizing: RoleSizing;
  /** the admin machine's facts: the clock reference */
  admin?: HostFacts;
  /** ports this host must have free */
  ports: number[];
  /** addresses the FQDN may resolve to (VIP, controller addresses) */
  fqdnTargets: string[];
  /** what the installed appliance owns on this host (its ports, its encrypted disk) */
  owned?: ApplianceOwned;
}

export type HostCheck = (c: HostCheckContext) => Finding | undefined;

export const SKEW_FAIL_MS = 500;
export const SKEW_WARN_MS = 100;
export const FSYNC_FAIL_MS = 10;
export const FSYNC_WARN_MS = 5;
export const INOTIFY_INSTANCES = 1024;
export const INOTIFY_WATCHES = 65536;
const GiB = 1024 ** 3;

const f = (c: HostCheckContext, id: string, title: string, status: CheckStatus, measured: string, required: string, fix?: string): Finding => ({
  id,
  host: c.host.name,
  title,
  status,
  measured,
  required,
  ...(status !== 'pass' && fix ? { fix } : {}),
});
const gb = (n: number) => `${(n / 1e9).toFixed(n < 1e10 ? 2 : 1)} GB`;
const gib = (n: number) => `${(n / GiB).toFixed(1)} GiB`;
const ms = (n: number) => `${n < 10 ? n.toFixed(2) : n.toFixed(0)} ms`;

export const cpuCount: HostCheck = (c) => {
  const n = c.facts.cpu.threads;
  const need = c.sizing.cpus;
  if (n === undefined) return f(c, 'cpu.count', 'CPUs', 'fail', 'unknown', `>= ${need} (${c.host.role})`, 'check /proc/cpuinfo on the host');
  return f(c, 'cpu.count', 'CPUs', n >= need ? 'pass' : 'fail', `${n}`, `>= ${need} (${c.host.role}, ${c.config.sizing.profile})`, `give the host ${need} CPUs, or pick a smaller sizing.profile`);
};

export const memoryTotal: HostCheck = (c) => {
  const n = c.facts.memory.totalBytes;
  const need = c.sizing.memoryGiB;
  const req = `>= ${need} GiB (${c.host.role}, ${c.config.sizing.profile}; MemTotal >= ${(need * MEMORY_TOLERANCE).toFixed(1)} GiB)`;
  if (n === undefined) return f(c, 'memory.total', 'memory', 'fail', 'unknown', req, 'check /proc/meminfo on the host');
  return f(c, 'memory.total', 'memory', n >= need * MEMORY_TOLERANCE * GiB ? 'pass' : 'fail', gib(n), req, `give the host ${need} GiB of memory, or pick a smaller sizing.profile`);
};

export const swapOff: HostCheck = (c) => {
  const s = c.facts.memory.swapTotalBytes;
  if (s === undefined) return f(c, 'swap.off', 'swap', 'warn', 'unknown (no SwapTotal in /proc/meminfo)', 'off', 'check `swapon --show` on the host');
  return f(c, 'swap.off', 'swap', s === 0 ? 'pass' : 'fail', s === 0 ? 'off' : `${gib(s)} configured`, 'off (the kubelet refuses swap)', 'swapoff -a, and remove swap lines from /etc/fstab');
};

export const archX86: HostCheck = (c) => {
  const a = c.facts.os.arch;
  return f(c, 'os.arch', 'architecture', a === 'x86_64' ? 'pass' : 'fail', a ?? 'unknown', 'x86_64', 'use an x86_64 host: the bundle ships x86_64 binaries and images');
};

const SUPPORTED = 'Debian 12, Ubuntu 22.04/24.04, RHEL 9 family (RHEL, Rocky, Alma, Oracle, CentOS Stream)';
export function isSupportedOs(os: HostFacts['os']): boolean {
  const id = os.id ?? '';
  const v = os.versionId ?? '';
  const major = v.split('.')[0];
  if (id === 'debian') return major === '12';
  if (id === 'ubuntu') return v === '22.04' || v === '24.04';
  const rhel = ['rhel', 'rocky', 'almalinux', 'ol', 'centos'].includes(id) || os.idLike.includes('rhel');
  return rhel && major === '9';
}
export const osSupported: HostCheck = (c) => {
  const o = c.facts.os;
  const measured = o.id ? `${o.prettyName ?? o.id} (${o.id} ${o.versionId ?? '?'})` : 'unknown (no /etc/os-release)';
  return f(c, 'os.supported', 'operating system', isSupportedOs(o) ? 'pass' : 'fail', measured, SUPPORTED, 'install a supported OS release (the bundle carries packages for those)');
};

export const diskPresent: HostCheck = (c) => {
  const dev = c.host.dataDisk;
  if (!dev) return f(c, 'disk.present', 'data disk', 'warn', 'none configured', 'a dedicated data disk', `set hosts[].dataDisk for ${c.host.name} (appliance data would share the root filesystem)`);
  const d = c.facts.dataDisk;
  if (!d?.exists) return f(c, 'disk.present', 'data disk', 'fail', `${dev} does not exist`, `${dev} present`, `attach the disk, or correct hosts[].dataDisk (lsblk lists the host's disks)`);
  if (!d.isBlockDevice) return f(c, 'disk.present', 'data disk', 'fail', `${dev} is not a block device`, `${dev} a block device`, 'point hosts[].dataDisk at a whole disk, e.g. /dev/sdb');
  return f(c, 'disk.present', 'data disk', 'pass', `${dev}${d.devno ? ` (${d.devno})` : ''}`, `${dev} present`);
};

const diskReady = (c: HostCheckContext) => (c.host.dataDisk && c.facts.dataDisk?.exists && c.facts.dataDisk.isBlockDevice ? c.facts.dataDisk : undefined);

export const diskUnmounted: HostCheck = (c) => {
  const d = diskReady(c);
  if (!d) return undefined;
  const all = [...d.mountpoints.map((m) => `mounted at ${m}`), ...d.holders.map((h) => `held by ${h}`)];
  const ours = all.filter((u) => c.owned?.diskUsers.includes(u));
  const busy = all.filter((u) => !ours.includes(u));
  if (!busy.length && c.owned?.disk) return f(c, 'disk.unmounted', 'data disk in use', 'pass', ours.length ? `in use by the appliance: ${ours.join(', ')}` : `${c.owned.disk.what}, not mounted by anything else`, 'not mounted, not held by dm/md (other than the appliance)');
  return f(c, 'disk.unmounted', 'data disk in use', busy.length ? 'fail' : 'pass', busy.length ? busy.join(', ') : 'not mounted, no holders', 'not mounted, not held by dm/md', `unmount it (umount) and remove it from /etc/fstab; palisade never touches a disk in use`);
};

export const diskNoFilesystem: HostCheck = (c) => {
  const d = diskReady(c);
  if (!d) return undefined;
  const wipe = hostEncryptionSettings(c.config, c.host as HostConfig).wipe;
  const found = [d.fstype ? `${d.fstype} signature` : '', d.ptType ? `${d.ptType} partition table` : '', d.partitions.length ? `partitions ${d.partitions.join(', ')}` : ''].filter(Boolean);
  if (!found.length) return f(c, 'disk.empty', 'data disk contents', 'pass', 'no filesystem or partitions', 'empty (or encryption.wipe: true)');
  if (c.owned?.disk && d.fstype === 'crypto_LUKS' && !d.ptType && !d.partitions.length) return f(c, 'disk.empty', 'data disk contents', 'pass', `in use by the appliance: ${c.owned.disk.what}`, "empty, or the appliance's own volume");
  return f(c, 'disk.empty', 'data disk contents', wipe ? 'warn' : 'fail', found.join(', '), 'empty (or encryption.wipe: true)', wipe ? 'encryption.wipe is true: this data WILL BE DESTROYED' : `wipe it yourself (wipefs -a ${d.device}) after checking it holds nothing you need, or set encryption.wipe: true`);
};

export const diskSize: HostCheck = (c) => {
  const d = diskReady(c);
  if (!d) return undefined;
  const need = c.sizing.diskGB * 1e9;
  if (d.sizeBytes === undefined) return f(c, 'disk.size', 'data disk size', 'fail', 'unknown', `>= ${c.sizing.diskGB} GB`, 'check `blockdev --getsize64` on the host');
  return f(c, 'disk.size', 'data disk size', d.sizeBytes >= need ? 'pass' : 'fail', gb(d.sizeBytes), `>= ${c.sizing.diskGB} GB (${c.host.role}, ${c.config.sizing.profile})`, `use a disk of at least ${c.sizing.diskGB} GB`);
};

export const diskLatency: HostCheck = (c) => {
  const l = c.facts.diskLatency;
  const req = `fdatasync p99 <= ${FSYNC_FAIL_MS} ms (etcd), warn > ${FSYNC_WARN_MS} ms`;
  if (!l) return f(c, 'disk.latency', 'disk sync latency', 'warn', `not measured: ${c.facts.notes.find((n) => n.startsWith('disk latency'))?.replace(/^disk latency: /, '') ?? 'no result'}`, req, 'install fio on the host, or measure with `fio --fdatasync=1`');
  let status: CheckStatus = l.p99Ms > FSYNC_FAIL_MS ? 'fail' : l.p99Ms > FSYNC_WARN_MS ? 'warn' : 'pass';
  // the dd fallback times a process start with every write: its tail is partly the scheduler's, so it never fails alone
  const coarse = l.method === 'dd' && status === 'fail';
  if (coarse) status = 'warn';
  return f(c, 'disk.latency', 'disk sync latency', status, `p99 ${ms(l.p99Ms)} (${l.method}, ${l.samples} writes in ${l.path.replace(/\/\.palisade-preflight.*$/, '')})`, req, coarse ? 'dd is coarse (process start-up jitter): install fio on the host for a figure that can fail' : 'put /var/lib on an SSD/NVMe, or a controller with a write cache');
};

/**
 * Clock skew: the host read its clock between the admin's send and the first
 * output bytes, so the skew lies in [epoch - received, epoch - sent]. Judged on
 * the smallest |skew| in that interval: a slow link never makes a failure up.
 */
export function clockSkew(facts: HostFacts): { lowMs: number; highMs: number; minAbsMs: number } | undefined {
  const t = facts.time;
  if (t.epochMs === undefined || t.sentAtMs === undefined || t.receivedAtMs === undefined) return undefined;
  const lowMs = t.epochMs - Math.max(t.receivedAtMs, t.sentAtMs);
  const highMs = t.epochMs - t.sentAtMs;
  return { lowMs, highMs, minAbsMs: lowMs > 0 ? lowMs : highMs < 0 ? -highMs : 0 };
}

const signed = (n: number) => `${n >= 0 ? '+' : '-'}${Math.round(Math.abs(n))}`;
export const clockSkewCheck: HostCheck = (c) => {
  const req = `|skew| <= ${SKEW_FAIL_MS} ms vs the admin machine (warn > ${SKEW_WARN_MS} ms)`;
  const s = clockSkew(c.facts);
  if (!s) return f(c, 'time.skew', 'clock skew', 'fail', 'unknown (host clock unreadable)', req, 'check `date` on the host');
  const status: CheckStatus = s.minAbsMs > SKEW_FAIL_MS ? 'fail' : s.minAbsMs > SKEW_WARN_MS ? 'warn' : 'pass';
  const measured = Math.round(s.lowMs) === Math.round(s.highMs) ? `${signed(s.lowMs)} ms` : `${signed(s.lowMs)} to ${signed(s.highMs)} ms`;
  return f(c, 'time.skew', 'clock skew', status, measured, req, 'synchronise the clocks of the hosts and the admin machine to the same NTP source (chrony)');
};

export const timeSync: HostCheck = (c) => {
  const t = c.facts.time;
  const req = 'chrony or systemd-timesyncd synchronised';
  if (!t.service) return f(c, 'time.sync', 'time sync', 'fail', 'no time service answered (chronyc, timedatectl)', req, 'install chrony and point it at the site NTP server');
  const measured = t.synchronized
    ? `${t.service} synchronised${t.source ? ` to ${t.source}` : ''}${t.offsetMs !== undefined ? `, offset ${t.offsetMs.toFixed(1)} ms` : ''}`
    : `${t.service} not synchronised${t.detail ? `: ${t.detail}` : ''}`;
  const fix = t.detail?.includes('not running') ? 'start chronyd (systemctl enable --now chrony)' : t.service === 'chrony' ? 'check `chronyc sources`: the NTP server must be reachable' : 'enable NTP (timedatectl set-ntp true) or install chrony';
  return f(c, 'time.sync', 'time sync', t.synchronized ? 'pass' : 'fail', measured, req, fix);
};

export const portsFree: HostCheck = (c) => {
  const l = c.facts.listeningPorts;
  const req = `free: ${c.ports.join(', ')}`;
  if (!l) return f(c, 'ports.free', 'ports', 'warn', 'unknown (neither ss nor /proc/net/tcp)', req, 'check with `ss -tln` on the host');
  const inUse = c.ports.filter((p) => l.includes(p));
  const ours = inUse.filter((p) => c.owned?.ports[p] !== undefined);
  const busy = inUse.filter((p) => !ours.includes(p));
  const oursText = ours.length ? `in use by the appliance: ${ours.map((p) => `${p} (${c.owned!.ports[p]})`).join(', ')}` : '';
  const measured = [busy.length ? `in use: ${busy.join(', ')}` : '', oursText].filter(Boolean).join('; ') || 'all free';
  return f(c, 'ports.free', 'ports', busy.length ? 'fail' : 'pass', measured, ours.length ? `${req} (or the appliance's own)` : req, `stop what listens on ${busy.join(', ')} (\`ss -tlnp\` shows it)`);
};

export const kernelOverlay: HostCheck = (c) => {
  const v = c.facts.kernel.overlay;
  return f(c, 'kernel.overlay', 'overlay filesystem', v ? 'pass' : v === false ? 'fail' : 'warn', v ? 'available' : v === false ? 'missing' : 'unknown', 'overlay (containerd snapshots)', 'use a kernel with CONFIG_OVERLAY_FS (module overlay)');
};

export const kernelBrNetfilter: HostCheck = (c) => {
  const v = c.facts.kernel.brNetfilter;
  return f(c, 'kernel.br_netfilter', 'bridge netfilter', v ? 'pass' : v === false ? 'fail' : 'warn', v ? 'available' : v === false ? 'missing' : 'unknown', 'br_netfilter (pod traffic through iptables)', 'use a kernel with CONFIG_BRIDGE_NETFILTER (module br_netfilter)');
};

/** The sysctls the install's prepare phase writes (installer/cluster/prepare.ts SYSCTLS; a test keeps the two equal). */
export const INSTALL_SETS_SYSCTLS: readonly string[] = ['net.ipv4.ip_forward', 'net.bridge.bridge-nf-call-iptables', 'net.bridge.bridge-nf-call-ip6tables'];
const setFix = (key: string, want: string) =>
  INSTALL_SETS_SYSCTLS.includes(key)
    ? `palisade install sets it (/etc/sysctl.d/90-palisade.conf); now: sysctl -w ${key}=${want}`
    : `sysctl -w ${key}=${want}, and keep it in /etc/sysctl.d/ (palisade install does not set it)`;

/** A sysctl with a wrong value warns (it can be set), an absent one fails (the kernel lacks it). */
function sysctlCheck(c: HostCheckContext, id: string, key: string, title: string, ok: (v: number) => boolean, required: string, want: string, absentFix: string): Finding {
  const raw = c.facts.sysctls[key];
  if (raw === undefined) return f(c, id, title, 'fail', `${key} absent`, required, absentFix);
  const v = Number(raw);
  return f(c, id, title, ok(v) ? 'pass' : 'warn', `${key} = ${raw}`, required, setFix(key, want));
}

export const sysctlIpForward: HostCheck = (c) => sysctlCheck(c, 'sysctl.ip_forward', 'net.ipv4.ip_forward', 'IP forwarding', (v) => v === 1, '= 1', '1', 'the kernel lacks IPv4 forwarding');
export const sysctlBridgeNf: HostCheck = (c) =>
  sysctlCheck(c, 'sysctl.bridge_nf_call_iptables', 'net.bridge.bridge-nf-call-iptables', 'bridged traffic to iptables', (v) => v === 1, '= 1', '1', 'modprobe br_netfilter (palisade install loads it at boot)');
export const sysctlRpFilter: HostCheck = (c) => {
  const all = c.facts.sysctls['net.ipv4.conf.all.rp_filter'];
  const def = c.facts.sysctls['net.ipv4.conf.default.rp_filter'];
  const req = 'not 1 (strict drops pod traffic): 0 or 2';
  if (all === undefined && def === undefined) return f(c, 'sysctl.rp_filter', 'reverse path filter', 'warn', 'unknown', req, 'check `sysctl net.ipv4.conf.all.rp_filter`');
  const strict = [all, def].some((v) => v === '1');
  return f(c, 'sysctl.rp_filter', 'reverse path filter', strict ? 'warn' : 'pass', `all = ${all ?? '?'}, default = ${def ?? '?'}`, req, 'sysctl -w net.ipv4.conf.all.rp_filter=2 net.ipv4.conf.default.rp_filter=2 (loose), and keep it in /etc/sysctl.d/');
};
export const inotifyInstances: HostCheck = (c) =>
  sysctlCheck(c, 'sysctl.inotify_instances', 'fs.inotify.max_user_instances', 'inotify instances', (v) => v >= INOTIFY_INSTANCES, `>= ${INOTIFY_INSTANCES}`, String(INOTIFY_INSTANCES), 'the kernel lacks inotify (CONFIG_INOTIFY_USER)');
export const inotifyWatches: HostCheck = (c) =>
  sysctlCheck(c, 'sysctl.inotify_watches', 'fs.inotify.max_user_watches', 'inotify watches', (v) => v >= INOTIFY_WATCHES, `>= ${INOTIFY_WATCHES}`, String(INOTIFY_WATCHES), 'the kernel lacks inotify (CONFIG_INOTIFY_USER)');

export const cidrOverlap: HostCheck = (c) => {
  const nets = c.facts.nics
    .filter((n) => !n.loopback)
    .flatMap((n) => n.addresses.filter((a) => a.family === 'inet').map((a) => ({ nic: n.name, cidr: parseCidr4(`${a.address}/${a.prefixLength}`) })))
    .filter((x): x is { nic: string; cidr: NonNullable<typeof x.cidr> } => x.cidr !== undefined);
  const ranges = [
    { name: 'podCidr', cidr: parseCidr4(c.config.cluster.podCidr) },
    { name: 'serviceCidr', cidr: parseCidr4(c.config.cluster.serviceCidr) },
  ];
  const clashes: string[] = [];
  for (const r of ranges) for (const n of nets) if (r.cidr && cidrsOverlap(r.cidr, n.cidr)) clashes.push(`${r.name} ${r.cidr.text} overlaps ${n.nic} ${n.cidr.text}`);
  return f(c, 'network.cidr', 'pod/service CIDRs', clashes.length ? 'fail' : 'pass', clashes.length ? clashes.join('; ') : `host networks ${nets.map((n) => n.cidr.text).join(', ') || 'none'}`, `no overlap with ${c.config.cluster.podCidr}, ${c.config.cluster.serviceCidr}`, 'choose cluster.podCidr / cluster.serviceCidr outside the site networks');
};

export const nameserver: HostCheck = (c) => {
  const ns = c.facts.nameservers;
  const usable = ns.filter((n) => !isLoopback(n));
  const measured = ns.length ? ns.join(', ') : 'none in /etc/resolv.conf';
  return f(c, 'dns.nameserver', 'nameserver', usable.length ? 'pass' : 'fail', measured, 'at least one nameserver not on loopback', 'list the site DNS server in /etc/resolv.conf (or systemd-resolved DNS=)');
};

export const fqdnResolves: HostCheck = (c) => {
  const a = c.facts.fqdn.addresses;
  const req = `${c.facts.fqdn.name} -> ${c.fqdnTargets.join(' or ')}`;
  if (!a.length) return f(c, 'dns.fqdn', 'FQDN resolves', 'fail', `${c.facts.fqdn.name} does not resolve`, req, `add ${c.facts.fqdn.name} to the site DNS (or /etc/hosts) pointing at the VIP or a controller`);
  const good = a.filter((x) => c.fqdnTargets.includes(x));
  return f(c, 'dns.fqdn', 'FQDN resolves', good.length ? 'pass' : 'fail', `${c.facts.fqdn.name} -> ${a.join(', ')}`, req, `point ${c.facts.fqdn.name} at the VIP or a controller address`);
};

/**
 * The FQDN from the admin side: the kubeconfig palisade writes and the operator's
 * browser use it. Not resolving here does not stop the install (palisade reaches
 * the hosts by address), so it warns, and says how to reach the API without
 * editing this machine's /etc/hosts.
 */
export function adminFqdnFinding(hostName: string, facts: HostFacts, targets: string[], apiPort: number): Finding {
  const c = { host: { name: hostName } } as HostCheckContext;
  const name = facts.fqdn.name;
  const a = facts.fqdn.addresses;
  const req = `${name} -> ${targets.join(' or ')} (for the kubeconfig and browsers on this machine)`;
  const override = `kubectl --server https://${targets[0] ?? 'CONTROLLER'}:${apiPort} --tls-server-name ${name}`;
  if (!a.length) return f(c, 'dns.fqdn', 'FQDN resolves here', 'warn', `${name} does not resolve on this machine`, req, `add ${name} to the site DNS; until then: ${override}`);
  const good = a.filter((x) => targets.includes(x));
  return f(c, 'dns.fqdn', 'FQDN resolves here', good.length ? 'pass' : 'warn', `${name} -> ${a.join(', ')}`, req, `point ${name} at the VIP or a controller; until then: ${override}`);
}

/** Air gap: judged on the routing table only (ip route get); no packet is ever sent. */
export function airGapFinding(config: PalisadeConfig, hostName: string, facts: HostFacts): Finding {
  const probes = facts.routes.publicProbes;
  const routed = probes.filter((p) => p.routable);
  const c = { host: { name: hostName } } as HostCheckContext;
  const byPath = new Map<string, string[]>();
  for (const p of routed) {
    const k = `via ${p.via ?? '-'} dev ${p.dev ?? '-'}`;
    byPath.set(k, [...(byPath.get(k) ?? []), p.destination]);
  }
  const list = [...byPath].map(([k, d]) => `${d.join(', ')} ${k}`).join('; ');
  if (!probes.length) return f(c, 'airgap.route', 'air gap', config.airGapped ? 'warn' : 'pass', 'unknown (`ip route get` unavailable)', config.airGapped ? 'no route to public addresses' : 'none (airGapped: false)', 'check `ip route` on the host');
  if (!config.airGapped) {
    return f(c, 'airgap.route', 'air gap', 'pass', routed.length ? `note: not air-gapped, routes to ${list}` : 'no route to public addresses', 'none (airGapped: false)');
  }
  return f(c, 'airgap.route', 'air gap', routed.length ? 'fail' : 'pass', routed.length ? `routes to ${list}` : `no route to ${probes.map((p) => p.destination).join(', ')}`, 'no route to public addresses (airGapped: true)', 'remove the default route (or add `unreachable` routes for public ranges), or set airGapped: false if the site is not air-gapped');
}
export const airGap: HostCheck = (c) => airGapFinding(c.config, c.host.name, c.facts);

export const tpmPresent: HostCheck = (c) => {
  const mode = hostEncryptionSettings(c.config, c.host as HostConfig).mode;
  if (!mode.includes('tpm2')) return undefined;
  const t = c.facts.tpm;
  return f(c, 'tpm.present', 'TPM 2.0', t.present ? 'pass' : 'fail', t.detail ?? (t.present ? 'present' : 'absent'), `TPM 2.0 (encryption mode ${mode})`, 'enable the TPM in firmware, or choose encryption mode tang');
};

export const deviceMapper: HostCheck = (c) => {
  const s = hostEncryptionSettings(c.config, c.host as HostConfig);
  if (s.mode === 'none') return undefined;
  const k = c.facts.kernel;
  const ok = k.deviceMapper === true && k.dmCrypt !== false;
  const measured = k.deviceMapper === undefined ? 'unknown' : !k.deviceMapper ? 'device-mapper missing' : k.dmCrypt === false ? 'device-mapper present, dm-crypt missing' : 'device-mapper and dm-crypt present';
  const status: CheckStatus = ok ? 'pass' : s.allowUnopened ? 'warn' : 'fail';
  return f(c, 'kernel.dm_crypt', 'device-mapper / dm-crypt', status, measured, 'dm_mod + dm_crypt (to open LUKS volumes)', s.allowUnopened ? 'encryption.allowUnopened: disks are formatted and bound but not opened' : 'use a kernel with dm_mod and dm_crypt, or set encryption.allowUnopened: true');
};

export const cpuAes: HostCheck = (c) => {
  if (hostEncryptionSettings(c.config, c.host as HostConfig).mode === 'none') return undefined;
  if (!c.facts.cpu.flags.length) return undefined;
  return f(c, 'cpu.aes', 'AES instructions', c.facts.cpu.aes ? 'pass' : 'warn', c.facts.cpu.aes ? 'aes' : 'no aes flag', 'AES-NI (fast disk encryption)', 'expect slow encrypted I/O; enable AES-NI in firmware or the hypervisor CPU model');
};

/** Every per-host check, in report order. */
export const HOST_CHECKS: HostCheck[] = [
  archX86, osSupported, cpuCount, memoryTotal, swapOff,
  diskPresent, diskUnmounted, diskNoFilesystem, diskSize, diskLatency,
  clockSkewCheck, timeSync, portsFree,
  kernelOverlay, kernelBrNetfilter, sysctlIpForward, sysctlBridgeNf, sysctlRpFilter, inotifyInstances, inotifyWatches,
  cidrOverlap, nameserver, fqdnResolves, airGap, tpmPresent, deviceMapper, cpuAes,
];
