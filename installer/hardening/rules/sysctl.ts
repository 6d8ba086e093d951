import type { CheckResult, HostState, Rule } from '../types.ts';

/**
 * Kernel parameter rules (CIS Debian 12, 1.5 and 3.3) that a Kubernetes node
 * lives with. IP forwarding is the exception CIS 3.3.1 cannot have on a node:
 * it stays on (pods' traffic is routed by the node), and the report says so.
 * A host that may not write a parameter (a container: /proc/sys is read-only)
 * gets "not applicable" with that reason, whatever the value is: the value is
 * then the machine's, not this host's, to keep.
 */
function readOnly(s: HostState, key: string, now: string, want: string): CheckResult {
  const kind = s.container !== 'none' ? `a ${s.container} container` : 'this host';
  return {
    status: 'na',
    detail: `${key} is read-only in ${kind} (now ${now}${now === want ? ', as wanted' : `, wanted ${want}`}); it is set by the machine that runs it`,
  };
}

function param(id: string, title: string, cis: string, keys: string[], want: string): Rule {
  return {
    id,
    title,
    area: 'sysctl',
    ...(cis ? { cis } : {}),
    check(s) {
      const present = keys.filter((k) => s.sysctl[k]);
      if (present.length === 0) return { status: 'na', detail: `the kernel has no ${keys.join(', ')}` };
      const locked = present.filter((k) => !s.sysctl[k]!.writable);
      if (locked.length) return readOnly(s, locked.join(', '), locked.map((k) => s.sysctl[k]!.value).join(','), want);
      const wrong = present.filter((k) => s.sysctl[k]!.value !== want);
      if (wrong.length === 0) return { status: 'pass', detail: present.map((k) => `${k} = ${want}`).join(', ') };
      return {
        status: 'fail',
        detail: wrong.map((k) => `${k} = ${s.sysctl[k]!.value}`).join(', ') + `, wanted ${want}`,
        fixes: present.map((k) => ({ kind: 'sysctl', key: k, value: want })),
      };
    },
  };
}

const ipForward: Rule = {
  id: 'sysctl.ip-forward',
  title: 'IPv4 forwarding stays on: Kubernetes nodes route pod traffic (CIS 3.3.1 asks for it off, which would cut the pod network)',
  area: 'sysctl',
  cis: '3.3.1',
  check(s) {
    const v = s.sysctl['net.ipv4.ip_forward'];
    return { status: 'na', detail: `kept on for the pod network (now ${v?.value ?? 'unknown'}; the prepare phase turns it on)` };
  },
};

export const sysctlRules: Rule[] = [
  param('sysctl.aslr', 'address space layout randomisation on', '1.5.1', ['kernel.randomize_va_space'], '2'),
  param('sysctl.ptrace', 'ptrace limited to descendants', '1.5.2', ['kernel.yama.ptrace_scope'], '1'),
  param('sysctl.suid-dumpable', 'set-user-id programs do not dump core', '1.5.3', ['fs.suid_dumpable'], '0'),
  param('sysctl.kptr-restrict', 'kernel addresses hidden from every user (kptr_restrict 2)', '', ['kernel.kptr_restrict'], '2'),
  param('sysctl.dmesg-restrict', 'the kernel log readable by root only', '', ['kernel.dmesg_restrict'], '1'),
  param('sysctl.unprivileged-bpf', 'unprivileged eBPF off (k3s and its CNI load BPF as root)', '', ['kernel.unprivileged_bpf_disabled'], '1'),
  param('sysctl.perf-event', 'perf events for root only (perf_event_paranoid 3)', '', ['kernel.perf_event_paranoid'], '3'),
  param('sysctl.core-pid', 'a core file names its process (core_uses_pid)', '', ['kernel.core_uses_pid'], '1'),
  param('sysctl.sysrq', 'magic SysRq keys off', '', ['kernel.sysrq'], '0'),
  param('sysctl.ldisc-autoload', 'TTY line disciplines not loaded on demand by users', '', ['dev.tty.ldisc_autoload'], '0'),
  param('sysctl.protected-links', 'hard and symbolic links in shared directories protected', '', ['fs.protected_hardlinks', 'fs.protected_symlinks'], '1'),
  param(
    'sysctl.protected-files',
    'FIFOs and files in sticky directories protected from other users (protected_fifos, protected_regular 2)',
    '',
    ['fs.protected_fifos', 'fs.protected_regular'],
    '2',
  ),
  ipForward,
  param('sysctl.send-redirects', 'ICMP redirects not sent', '3.3.2', ['net.ipv4.conf.all.send_redirects', 'net.ipv4.conf.default.send_redirects'], '0'),
  param('sysctl.bogus-icmp', 'bogus ICMP error responses ignored', '3.3.3', ['net.ipv4.icmp_ignore_bogus_error_responses'], '1'),
  param('sysctl.broadcast-icmp', 'broadcast ICMP echo ignored', '3.3.4', ['net.ipv4.icmp_echo_ignore_broadcasts'], '1'),
  param(
    'sysctl.accept-redirects',
    'ICMP redirects not accepted',
    '3.3.5',
    [
      'net.ipv4.conf.all.accept_redirects',
      'net.ipv4.conf.default.accept_redirects',
      'net.ipv6.conf.all.accept_redirects',
      'net.ipv6.conf.default.accept_redirects',
    ],
    '0',
  ),
  param(
    'sysctl.secure-redirects',
    'secure ICMP redirects not accepted',
    '3.3.6',
    ['net.ipv4.conf.all.secure_redirects', 'net.ipv4.conf.default.secure_redirects'],
    '0',
  ),
  param(
    'sysctl.source-route',
    'source-routed packets not accepted',
    '3.3.8',
    [
      'net.ipv4.conf.all.accept_source_route',
      'net.ipv4.conf.default.accept_source_route',
      'net.ipv6.conf.all.accept_source_route',
      'net.ipv6.conf.default.accept_source_route',
    ],
    '0',
  ),
  param(
    'sysctl.log-martians',
    'packets with impossible addresses (martians) logged',
    '3.3.9',
    ['net.ipv4.conf.all.log_martians', 'net.ipv4.conf.default.log_martians'],
    '1',
  ),
  param('sysctl.syncookies', 'TCP SYN cookies on', '3.3.10', ['net.ipv4.tcp_syncookies'], '1'),
  param(
    'sysctl.accept-ra',
    'IPv6 router advertisements not accepted (addresses are configured, not learned)',
    '3.3.11',
    ['net.ipv6.conf.all.accept_ra', 'net.ipv6.conf.default.accept_ra'],
    '0',
  ),
];
