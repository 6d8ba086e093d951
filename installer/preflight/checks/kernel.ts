/** Per-host checks of the kernel: the modules containerd and pod networking need, and the sysctls they read. */
import type { Finding } from '../types.ts';
import { finding, type HostCheck, type HostCheckContext } from './finding.ts';

export const INOTIFY_INSTANCES = 1024;
export const INOTIFY_WATCHES = 65536;

export const kernelOverlay: HostCheck = (c) => {
  const v = c.facts.kernel.overlay;
  return finding(
    c,
    'kernel.overlay',
    'overlay filesystem',
    v ? 'pass' : v === false ? 'fail' : 'warn',
    v ? 'available' : v === false ? 'missing' : 'unknown',
    'overlay (containerd snapshots)',
    'use a kernel with CONFIG_OVERLAY_FS (module overlay)',
  );
};

export const kernelBrNetfilter: HostCheck = (c) => {
  const v = c.facts.kernel.brNetfilter;
  return finding(
    c,
    'kernel.br_netfilter',
    'bridge netfilter',
    v ? 'pass' : v === false ? 'fail' : 'warn',
    v ? 'available' : v === false ? 'missing' : 'unknown',
    'br_netfilter (pod traffic through iptables)',
    'use a kernel with CONFIG_BRIDGE_NETFILTER (module br_netfilter)',
  );
};

/** The sysctls the install's prepare phase writes (installer/cluster/prepare.ts SYSCTLS; a test keeps the two equal). */
export const INSTALL_SETS_SYSCTLS: readonly string[] = ['net.ipv4.ip_forward', 'net.bridge.bridge-nf-call-iptables', 'net.bridge.bridge-nf-call-ip6tables'];
const setFix = (key: string, want: string) =>
  INSTALL_SETS_SYSCTLS.includes(key)
    ? `palisade install sets it (/etc/sysctl.d/90-palisade.conf); now: sysctl -w ${key}=${want}`
    : `sysctl -w ${key}=${want}, and keep it in /etc/sysctl.d/ (palisade install does not set it)`;

/** A sysctl with a wrong value warns (it can be set), an absent one fails (the kernel lacks it). */
function sysctlCheck(
  c: HostCheckContext,
  id: string,
  key: string,
  title: string,
  ok: (v: number) => boolean,
  required: string,
  want: string,
  absentFix: string,
): Finding {
  const raw = c.facts.sysctls[key];
  if (raw === undefined) return finding(c, id, title, 'fail', `${key} absent`, required, absentFix);
  const v = Number(raw);
  return finding(c, id, title, ok(v) ? 'pass' : 'warn', `${key} = ${raw}`, required, setFix(key, want));
}

export const sysctlIpForward: HostCheck = (c) =>
  sysctlCheck(c, 'sysctl.ip_forward', 'net.ipv4.ip_forward', 'IP forwarding', (v) => v === 1, '= 1', '1', 'the kernel lacks IPv4 forwarding');
export const sysctlBridgeNf: HostCheck = (c) =>
  sysctlCheck(
    c,
    'sysctl.bridge_nf_call_iptables',
    'net.bridge.bridge-nf-call-iptables',
    'bridged traffic to iptables',
    (v) => v === 1,
    '= 1',
    '1',
    'modprobe br_netfilter (palisade install loads it at boot)',
  );
export const sysctlRpFilter: HostCheck = (c) => {
  const all = c.facts.sysctls['net.ipv4.conf.all.rp_filter'];
  const def = c.facts.sysctls['net.ipv4.conf.default.rp_filter'];
  const req = 'not 1 (strict drops pod traffic): 0 or 2';
  if (all === undefined && def === undefined)
    return finding(c, 'sysctl.rp_filter', 'reverse path filter', 'warn', 'unknown', req, 'check `sysctl net.ipv4.conf.all.rp_filter`');
  const strict = [all, def].some((v) => v === '1');
  return finding(
    c,
    'sysctl.rp_filter',
    'reverse path filter',
    strict ? 'warn' : 'pass',
    `all = ${all ?? '?'}, default = ${def ?? '?'}`,
    req,
    'sysctl -w net.ipv4.conf.all.rp_filter=2 net.ipv4.conf.default.rp_filter=2 (loose), and keep it in /etc/sysctl.d/',
  );
};
export const inotifyInstances: HostCheck = (c) =>
  sysctlCheck(
    c,
    'sysctl.inotify_instances',
    'fs.inotify.max_user_instances',
    'inotify instances',
    (v) => v >= INOTIFY_INSTANCES,
    `>= ${INOTIFY_INSTANCES}`,
    String(INOTIFY_INSTANCES),
    'the kernel lacks inotify (CONFIG_INOTIFY_USER)',
  );
export const inotifyWatches: HostCheck = (c) =>
  sysctlCheck(
    c,
    'sysctl.inotify_watches',
    'fs.inotify.max_user_watches',
    'inotify watches',
    (v) => v >= INOTIFY_WATCHES,
    `>= ${INOTIFY_WATCHES}`,
    String(INOTIFY_WATCHES),
    'the kernel lacks inotify (CONFIG_INOTIFY_USER)',
  );
