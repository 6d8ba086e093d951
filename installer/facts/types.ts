/**
 * What palisade knows about one machine. Remote hosts fill it from the shell
 * probe (one SSH round trip), the admin machine from systeminformation. A field
 * is `undefined` when the machine could not tell (tool missing, file
 * unreadable); `notes` then says why, so a check can report "unknown" honestly
 * instead of guessing.
 */
export interface CpuFacts {
  model?: string;
  /** physical cores (all sockets) */
  cores?: number;
  /** logical CPUs the kernel schedules on (what sizing counts) */
  threads?: number;
  flags: string[];
  aes: boolean;
  /** vmx (Intel) or svm (AMD) */
  virtualization?: 'vmx' | 'svm';
}

export interface MemoryFacts {
  totalBytes?: number;
  availableBytes?: number;
  swapTotalBytes?: number;
  swapFreeBytes?: number;
}

export interface DiskFacts {
  name: string;
  /** /dev/<name> unless lsblk gave a path */
  path: string;
  sizeBytes: number;
  rotational?: boolean;
  type: string;
  model?: string;
  serial?: string;
  mountpoints: string[];
  fstype?: string;
  children: DiskFacts[];
}

export interface DataDiskFacts {
  device: string;
  exists: boolean;
  isBlockDevice: boolean;
  sizeBytes?: number;
  /** `major:minor` */
  devno?: string;
  /** filesystem or other signature found by blkid -p (low-level probe: no udev needed) */
  fstype?: string;
  /** partition table type, when blkid found one */
  ptType?: string;
  /** partitions (from lsblk / sysfs) */
  partitions: string[];
  /** where the disk or one of its partitions is mounted (from /proc/self/mountinfo) */
  mountpoints: string[];
  /** device-mapper or md devices sitting on it (/sys/dev/block/M:m/holders) */
  holders: string[];
}

export interface NicAddress {
  family: 'inet' | 'inet6';
  address: string;
  prefixLength: number;
  scope?: string;
}

export interface NicFacts {
  name: string;
  mac?: string;
  mtu?: number;
  /** operstate: up, down, unknown, ... */
  state?: string;
  loopback: boolean;
  addresses: NicAddress[];
}

export interface OsFacts {
  /** os-release ID, e.g. debian, ubuntu, rhel, rocky */
  id?: string;
  idLike: string[];
  versionId?: string;
  prettyName?: string;
  kernel?: string;
  arch?: string;
}

export interface TimeFacts {
  /** the host's clock (epoch ms) as the probe read it first thing */
  epochMs?: number;
  /** admin clock when the probe was sent / its first output arrived: the host read its clock in between */
  sentAtMs?: number;
  receivedAtMs?: number;
  /** chrony, timesyncd, or undefined when no time service answered */
  service?: 'chrony' | 'timesyncd';
  /** the service reports the clock synchronised */
  synchronized?: boolean;
  /** chrony: last offset from the reference, in ms */
  offsetMs?: number;
  source?: string;
  /** why it is not synchronised, when known (daemon not running, NTP disabled) */
  detail?: string;
}

export interface RouteProbe {
  destination: string;
  /** the kernel has a route that would carry traffic there */
  routable: boolean;
  via?: string;
  dev?: string;
  /** the line `ip route get` printed (or its error) */
  detail: string;
}

export interface RouteFacts {
  defaultRoutes: Array<{ via?: string; dev?: string; family: 'inet' | 'inet6' }>;
  /** `ip route get` to public addresses: the routing table only, no packet is sent */
  publicProbes: RouteProbe[];
}

export interface DiskLatencyFacts {
  method: 'fio' | 'dd';
  /** directory the probe wrote in */
  path: string;
  samples: number;
  p99Ms: number;
  p50Ms?: number;
  /** dd: per-call overhead (median non-sync write) subtracted from each sample */
  overheadMs?: number;
}

export interface HostFacts {
  /** palisade.yaml host name, or "(admin)" for the machine palisade runs on */
  name: string;
  address?: string;
  source: 'probe' | 'local';
  hostname?: string;
  machineId?: string;
  productUuid?: string;
  cpu: CpuFacts;
  memory: MemoryFacts;
  disks: DiskFacts[];
  dataDisk?: DataDiskFacts;
  nics: NicFacts[];
  os: OsFacts;
  cgroupVersion?: 1 | 2;
  time: TimeFacts;
  /** TCP ports something listens on (any address) */
  listeningPorts?: number[];
  kernel: {
    overlay?: boolean;
    brNetfilter?: boolean;
    /** device-mapper driver present (in /proc/misc, or loadable) */
    deviceMapper?: boolean;
    /** dm-crypt target available (module loadable or /proc/crypto lists a usable xts/aes) */
    dmCrypt?: boolean;
  };
  /** net.ipv4.ip_forward etc., keyed by sysctl name; absent when unreadable */
  sysctls: Record<string, string>;
  tpm: { present: boolean; via?: 'device' | 'tcti'; detail?: string };
  routes: RouteFacts;
  nameservers: string[];
  /** getent ahosts <fqdn>: addresses, empty when it does not resolve */
  fqdn: { name: string; addresses: string[] };
  diskLatency?: DiskLatencyFacts;
  /** what could not be measured, and why */
  notes: string[];
}

export const SYSCTLS = [
  'net.ipv4.ip_forward',
  'net.bridge.bridge-nf-call-iptables',
  'net.ipv4.conf.all.rp_filter',
  'net.ipv4.conf.default.rp_filter',
  'fs.inotify.max_user_instances',
  'fs.inotify.max_user_watches',
] as const;

/** Public addresses `ip route get` is asked about (never contacted). */
export const PUBLIC_PROBE_ADDRESSES = ['1.1.1.1', '8.8.8.8', '9.9.9.9', '2606:4700::1111', '2001:4860:4860::8888'] as const;
