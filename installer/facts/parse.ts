import { isIP } from 'node:net';
import { PalisadeError } from '../core/errors.ts';
import { MARK } from './probe.ts';
import type {
  CpuFacts, DataDiskFacts, DiskFacts, DiskLatencyFacts, HostFacts, MemoryFacts, NicAddress, NicFacts, OsFacts, RouteFacts,
  RouteProbe, TimeFacts,
} from './types.ts';

/**
 * Pure parsers for the probe's output (probe.ts). Each takes the text of one
 * section and returns typed facts; nothing here touches a host, so every
 * parser is tested on recorded outputs.
 */

export function splitSections(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let cur: string | undefined;
  let body: string[] = [];
  const flush = () => {
    if (cur !== undefined && !out.has(cur)) out.set(cur, body.join('\n').replace(/^\n+|\n+$/g, ''));
  };
  const re = new RegExp(`^${MARK} (\\S+) ${MARK}$`);
  for (const line of text.split('\n')) {
    const m = re.exec(line.trimEnd());
    if (m) {
      flush();
      cur = m[1];
      body = [];
    } else if (cur !== undefined) body.push(line);
  }
  flush();
  return out;
}

export function parseKv(body: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of (body ?? '').split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

/** Like parseKv, but a key may repeat (part=, holder=, mount=). */
function kvAll(body: string | undefined, key: string): string[] {
  return (body ?? '').split('\n').filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1).trim()).filter(Boolean);
}

const num = (v: string | undefined): number | undefined => {
  if (v === undefined || v.trim() === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
};

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

interface LsblkJson {
  name?: string;
  kname?: string;
  path?: string;
  size?: number | string | null;
  rota?: boolean | string | null;
  type?: string;
  model?: string | null;
  serial?: string | null;
  mountpoint?: string | null;
  mountpoints?: Array<string | null>;
  fstype?: string | null;
  children?: LsblkJson[];
}

const boolish = (v: boolean | string | null | undefined): boolean | undefined =>
  v === true || v === '1' || v === 'true' ? true : v === false || v === '0' || v === 'false' ? false : undefined;
const strish = (v: string | null | undefined): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

function fromLsblkJson(d: LsblkJson): DiskFacts {
  const name = d.name ?? d.kname ?? '?';
  const mounts = [d.mountpoint, ...(d.mountpoints ?? [])].filter((m): m is string => typeof m === 'string' && m !== '');
  const rota = boolish(d.rota);
  const model = strish(d.model);
  const serial = strish(d.serial);
  const fstype = strish(d.fstype);
  return {
    name,
    path: d.path ?? `/dev/${name}`,
    sizeBytes: Number(d.size ?? 0) || 0,
    ...(rota !== undefined ? { rotational: rota } : {}),
    type: d.type ?? 'unknown',
    ...(model ? { model } : {}),
    ...(serial ? { serial } : {}),
    mountpoints: [...new Set(mounts)],
    ...(fstype ? { fstype } : {}),
    children: (d.children ?? []).map(fromLsblkJson),
  };
}

/** `lsblk -P` (no JSON support): KEY="value" pairs per line, parents by PKNAME. */
function parseLsblkPairs(body: string): DiskFacts[] {
  const rows = body
    .split('\n')
    .filter((l) => l.includes('='))
    .map((l) => {
      const r: Record<string, string> = {};
      for (const m of l.matchAll(/([A-Z:-]+)="((?:[^"\\]|\\.)*)"/g)) if (m[1]) r[m[1]] = (m[2] ?? '').replace(/\\x20/g, ' ');
      return r;
    });
  const byName = new Map<string, DiskFacts>();
  const top: DiskFacts[] = [];
  for (const r of rows) {
    const d = fromLsblkJson({
      name: r.NAME ?? '?',
      size: r.SIZE ?? '0',
      rota: r.ROTA ?? null,
      type: r.TYPE ?? 'unknown',
      model: r.MODEL ?? null,
      serial: r.SERIAL ?? null,
      mountpoint: r.MOUNTPOINT ?? null,
      fstype: r.FSTYPE ?? null,
    });
    byName.set(d.name, d);
    const parent = r.PKNAME ? byName.get(r.PKNAME) : undefined;
    if (parent) parent.children.push(d);
    else top.push(d);
  }
  return top;
}

export function parseLsblk(body: string | undefined): DiskFacts[] | undefined {
  const t = (body ?? '').trim();
  if (!t) return undefined;
  if (t.startsWith('{')) {
    try {
      return ((JSON.parse(t) as { blockdevices?: LsblkJson[] }).blockdevices ?? []).map(fromLsblkJson);
    } catch {
      return undefined;
    }
  }
  return parseLsblkPairs(t);
}

export function parseDataDisk(device: string, body: string | undefined): DataDiskFacts {
  const kv = parseKv(body);
  const size = num(kv.size);
  return {
    device,
    exists: kv.exists === '1',
    isBlockDevice: kv.block === '1',
    ...(size !== undefined ? { sizeBytes: size } : {}),
    ...(kv.devno ? { devno: kv.devno } : {}),
    ...(kv['blkid.TYPE'] ? { fstype: kv['blkid.TYPE'] } : {}),
    ...(kv['blkid.PTTYPE'] ? { ptType: kv['blkid.PTTYPE'] } : {}),
    partitions: kvAll(body, 'part').map((p) => p.split(/\s+/)[0] ?? p),
    mountpoints: [...new Set(kvAll(body, 'mount').map((m) => m.replace(/\\040/g, ' ')))],
    holders: kvAll(body, 'holder'),
  };
}

interface IpAddrJson {
  ifname?: string;
  address?: string;
  mtu?: number;
  operstate?: string;
  link_type?: string;
  flags?: string[];
  addr_info?: Array<{ family?: string; local?: string; prefixlen?: number; scope?: string }>;
}

export function parseNics(body: string | undefined): NicFacts[] | undefined {
  const t = (body ?? '').trim();
  if (!t) return undefined;
  if (t.startsWith('[')) {
    try {
      return (JSON.parse(t) as IpAddrJson[]).map((n) => {
        const loopback = n.link_type === 'loopback' || (n.flags ?? []).includes('LOOPBACK');
        return {
          name: n.ifname ?? '?',
          ...(n.address && !loopback ? { mac: n.address.toLowerCase() } : {}),
          ...(n.mtu !== undefined ? { mtu: n.mtu } : {}),
          ...(n.operstate ? { state: n.operstate.toLowerCase() } : {}),
          loopback,
          addresses: (n.addr_info ?? [])
            .filter((a) => (a.family === 'inet' || a.family === 'inet6') && a.local)
            .map((a): NicAddress => ({ family: a.family as 'inet' | 'inet6', address: a.local as string, prefixLength: a.prefixlen ?? (a.family === 'inet' ? 32 : 128), ...(a.scope ? { scope: a.scope } : {}) })),
        };
      });
    } catch {
      return undefined;
    }
  }
  // fallback: "sys NAME MAC MTU STATE" lines from /sys/class/net, then `ip -o addr` lines
  const nics = new Map<string, NicFacts>();
  for (const line of t.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[0] === 'sys' && f[1]) {
      const mac = f[2]?.toLowerCase();
      const loopback = f[1] === 'lo' || mac === '00:00:00:00:00:00';
      const mtu = num(f[3]);
      nics.set(f[1], { name: f[1], ...(mac && !loopback ? { mac } : {}), ...(mtu !== undefined ? { mtu } : {}), ...(f[4] ? { state: f[4] } : {}), loopback, addresses: [] });
    } else {
      // "2: eth0    inet 10.0.0.5/24 brd ... scope global eth0\       valid_lft ..."
      const m = /^\d+:\s+(\S+)\s+(inet6?)\s+([0-9a-fA-F.:]+)\/(\d+)(?:.*\bscope\s+(\w+))?/.exec(line.trim());
      if (m?.[1] && m[3]) {
        const n = nics.get(m[1]);
        n?.addresses.push({ family: m[2] as 'inet' | 'inet6', address: m[3], prefixLength: Number(m[4]), ...(m[5] ? { scope: m[5] } : {}) });
      }
    }
  }
  return [...nics.values()];
}

export function parseTimeSync(chrony: string | undefined, timedatectl: string | undefined): Pick<TimeFacts, 'service' | 'synchronized' | 'offsetMs' | 'source' | 'detail'> {
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

/** Local ports in LISTEN state, from `ss -Htln` or /proc/net/tcp{,6} (marked by a "# proc" line). */
export function parseListeningPorts(body: string | undefined): number[] | undefined {
  const t = (body ?? '').trim();
  if (!t) return undefined;
  const ports = new Set<number>();
  if (t.startsWith('# proc')) {
    for (const line of t.split('\n')) {
      const f = line.trim().split(/\s+/);
      // sl local_address rem_address st ...; 0A = LISTEN
      if (f.length > 3 && /^\d+:$/.test(f[0] ?? '') && f[3] === '0A') {
        const port = parseInt((f[1] ?? '').split(':').pop() ?? '', 16);
        if (Number.isFinite(port)) ports.add(port);
      }
    }
  } else {
    for (const line of t.split('\n')) {
      const f = line.trim().split(/\s+/);
      // State Recv-Q Send-Q Local:Port Peer:Port
      const local = f[0] === 'LISTEN' ? f[3] : f[2];
      const port = Number(local?.slice(local.lastIndexOf(':') + 1));
      if (Number.isInteger(port) && port > 0) ports.add(port);
    }
  }
  return [...ports].sort((a, b) => a - b);
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

function routeFields(line: string): { via?: string; dev?: string } {
  const via = /\bvia\s+(\S+)/.exec(line)?.[1];
  const dev = /\bdev\s+(\S+)/.exec(line)?.[1];
  return { ...(via ? { via } : {}), ...(dev ? { dev } : {}) };
}

export function parseRoutes(body: string | undefined): RouteFacts {
  const out: RouteFacts = { defaultRoutes: [], publicProbes: [] };
  for (const line of (body ?? '').split('\n')) {
    const t = line.trim();
    if (t.startsWith('v4 default') || t.startsWith('v6 default')) {
      out.defaultRoutes.push({ family: t.startsWith('v4') ? 'inet' : 'inet6', ...routeFields(t) });
    } else if (t.startsWith('get ')) {
      const m = /^get (\S+) (\d+) ?(.*)$/.exec(t);
      if (!m?.[1]) continue;
      const detail = (m[3] ?? '').trim();
      const first = detail.split(/\s+/)[0] ?? '';
      // unreachable / prohibit / blackhole routes answer without error on some kernels: they carry nothing
      const routable = m[2] === '0' && detail !== '' && !/^(unreachable|prohibit|blackhole|throw)$/.test(first) && !/unreachable|RTNETLINK|Error/i.test(detail);
      const probe: RouteProbe = { destination: m[1], routable, detail, ...(routable ? routeFields(detail) : {}) };
      out.publicProbes.push(probe);
    }
  }
  return out;
}

export function parseNameservers(body: string | undefined): string[] {
  const out: string[] = [];
  for (const line of (body ?? '').split('\n')) {
    const m = /^(?:resolved\s+)?\s*nameserver\s+(\S+)/.exec(line.trim());
    if (m?.[1] && !out.includes(m[1])) out.push(m[1]);
  }
  return out;
}

export function parseAddresses(body: string | undefined): string[] {
  return [...new Set((body ?? '').split('\n').map((l) => l.trim()).filter((l) => isIP(l) !== 0))];
}

/** nearest-rank percentile of a sample (q in 0..100) */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((q / 100) * s.length);
  return s[Math.min(s.length, Math.max(1, rank)) - 1] as number;
}

export function parseLatency(body: string | undefined): { latency?: DiskLatencyFacts; note?: string } {
  const t = (body ?? '').trim();
  const kv = parseKv(t.split('\n').filter((l) => !l.startsWith(' ') && !l.startsWith('{')).join('\n'));
  if (kv.error) return { note: `disk latency: ${kv.error}` };
  const path = kv.path ?? '?';
  if (kv.method === 'fio') {
    const a = t.indexOf('{');
    const b = t.lastIndexOf('}');
    if (a < 0 || b < a) return { note: 'disk latency: fio printed no result' };
    try {
      const doc = JSON.parse(t.slice(a, b + 1)) as { jobs?: Array<{ sync?: { lat_ns?: { N?: number; percentile?: Record<string, number> } } }> };
      const lat = doc.jobs?.[0]?.sync?.lat_ns;
      const p99 = lat?.percentile?.['99.000000'];
      if (!lat || p99 === undefined) return { note: 'disk latency: fio reported no fdatasync latencies' };
      const p50 = lat.percentile?.['50.000000'];
      return { latency: { method: 'fio', path, samples: lat.N ?? 0, p99Ms: p99 / 1e6, ...(p50 !== undefined ? { p50Ms: p50 / 1e6 } : {}) } };
    } catch {
      return { note: 'disk latency: fio output was not JSON' };
    }
  }
  if (kv.method === 'dd') {
    const us = (tag: string) => t.split('\n').filter((l) => l.startsWith(`${tag} `)).map((l) => Number(l.slice(tag.length + 1))).filter(Number.isFinite);
    const base = us('base');
    const sync = us('sync');
    if (sync.length < 5) return { note: `disk latency: only ${sync.length} dd samples` };
    const overhead = base.length ? percentile(base, 50) : 0;
    const adj = sync.map((v) => Math.max(0, v - overhead) / 1000);
    return { latency: { method: 'dd', path, samples: adj.length, p99Ms: percentile(adj, 99), p50Ms: percentile(adj, 50), overheadMs: overhead / 1000 } };
  }
  return { note: 'disk latency: not measured' };
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
    throw new PalisadeError('facts.truncated', `${ctx.name}: the facts probe did not finish (its output stops${s.size ? ` after section "${[...s.keys()].pop()}"` : ' before the first section'})`, {
      hint: 'run with -v to see the probe output; check that the host has a POSIX /bin/sh and the SSH user can sudo without a prompt',
    });
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
