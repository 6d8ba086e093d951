/**
 * What the hardening probe reads, as data shared by the probe and the rules:
 * files whose mode and owner matter, kernel parameters, packages and units.
 */

/** CIS file-permission targets: the most a file may allow, and who may own it. */
export interface FileTarget {
  path: string;
  /** no permission bit outside this mask */
  maxMode: number;
  owner: string;
  /** allowed groups; the first is what a fix sets */
  groups: string[];
  cis?: string;
  /** a missing file is fine (backups, cron) */
  optional?: boolean;
}

export const ACCOUNT_FILES: FileTarget[] = [
  { path: '/etc/passwd', maxMode: 0o644, owner: 'root', groups: ['root'], cis: '7.1.1' },
  { path: '/etc/passwd-', maxMode: 0o644, owner: 'root', groups: ['root'], cis: '7.1.2', optional: true },
  { path: '/etc/group', maxMode: 0o644, owner: 'root', groups: ['root'], cis: '7.1.3' },
  { path: '/etc/group-', maxMode: 0o644, owner: 'root', groups: ['root'], cis: '7.1.4', optional: true },
  { path: '/etc/shadow', maxMode: 0o640, owner: 'root', groups: ['shadow', 'root'], cis: '7.1.5' },
  { path: '/etc/shadow-', maxMode: 0o640, owner: 'root', groups: ['shadow', 'root'], cis: '7.1.6', optional: true },
  { path: '/etc/gshadow', maxMode: 0o640, owner: 'root', groups: ['shadow', 'root'], cis: '7.1.7' },
  { path: '/etc/gshadow-', maxMode: 0o640, owner: 'root', groups: ['shadow', 'root'], cis: '7.1.8', optional: true },
  { path: '/etc/shells', maxMode: 0o644, owner: 'root', groups: ['root'], cis: '7.1.9', optional: true },
  { path: '/etc/security/opasswd', maxMode: 0o600, owner: 'root', groups: ['root'], cis: '7.1.10', optional: true },
];

export const CRON_FILES: FileTarget[] = [
  { path: '/etc/crontab', maxMode: 0o600, owner: 'root', groups: ['root'], cis: '2.4.1.2', optional: true },
  { path: '/etc/cron.hourly', maxMode: 0o700, owner: 'root', groups: ['root'], cis: '2.4.1.3', optional: true },
  { path: '/etc/cron.daily', maxMode: 0o700, owner: 'root', groups: ['root'], cis: '2.4.1.4', optional: true },
  { path: '/etc/cron.weekly', maxMode: 0o700, owner: 'root', groups: ['root'], cis: '2.4.1.5', optional: true },
  { path: '/etc/cron.monthly', maxMode: 0o700, owner: 'root', groups: ['root'], cis: '2.4.1.6', optional: true },
  { path: '/etc/cron.d', maxMode: 0o700, owner: 'root', groups: ['root'], cis: '2.4.1.7', optional: true },
];

export const SSHD_CONFIG = '/etc/ssh/sshd_config';
export const SSHD_CONFIG_DIR = '/etc/ssh/sshd_config.d';
/** palisade's drop-in: first in the directory, so its values win (sshd keeps the first value it reads) */
export const SSHD_DROPIN = `${SSHD_CONFIG_DIR}/00-palisade-hardening.conf`;
export const ISSUE = '/etc/issue';
export const ISSUE_NET = '/etc/issue.net';
export const SYSCTL_FILE = '/etc/sysctl.d/60-palisade-hardening.conf';
export const MODPROBE_FILE = '/etc/modprobe.d/60-palisade-hardening.conf';
export const COREDUMP_DROPIN = '/etc/systemd/coredump.conf.d/60-palisade-hardening.conf';
export const PROFILE_FILE = '/etc/profile.d/60-palisade-hardening.sh';
/** directories whose mount options the mount rules look at (CIS 1.1.2) */
export const MOUNT_TARGETS = ['/tmp', '/dev/shm'];

/** stat'ed besides the fixed lists: the sshd drop-ins and host keys present */
export const STAT_GLOBS = [`${SSHD_CONFIG_DIR}/*.conf`, '/etc/ssh/ssh_host_*_key', '/etc/ssh/ssh_host_*_key.pub'];
export const TEXT_FILES = [ISSUE, ISSUE_NET, SSHD_DROPIN, SYSCTL_FILE, MODPROBE_FILE];

export const STAT_PATHS = [...ACCOUNT_FILES, ...CRON_FILES].map((f) => f.path).concat([SSHD_CONFIG, SSHD_CONFIG_DIR, ...TEXT_FILES]);

/** the kernel parameters of CIS 1.5 and 3.3 that a Kubernetes node can live with, plus ip_forward (reported) */
export const SYSCTL_KEYS = [
  'net.ipv4.ip_forward',
  'net.ipv4.conf.all.send_redirects',
  'net.ipv4.conf.default.send_redirects',
  'net.ipv4.icmp_ignore_bogus_error_responses',
  'net.ipv4.icmp_echo_ignore_broadcasts',
  'net.ipv4.conf.all.accept_redirects',
  'net.ipv4.conf.default.accept_redirects',
  'net.ipv6.conf.all.accept_redirects',
  'net.ipv6.conf.default.accept_redirects',
  'net.ipv4.conf.all.secure_redirects',
  'net.ipv4.conf.default.secure_redirects',
  'net.ipv4.conf.all.accept_source_route',
  'net.ipv4.conf.default.accept_source_route',
  'net.ipv6.conf.all.accept_source_route',
  'net.ipv6.conf.default.accept_source_route',
  'net.ipv4.conf.all.log_martians',
  'net.ipv4.conf.default.log_martians',
  'net.ipv4.tcp_syncookies',
  'net.ipv6.conf.all.accept_ra',
  'net.ipv6.conf.default.accept_ra',
  'kernel.randomize_va_space',
  'fs.suid_dumpable',
  'kernel.yama.ptrace_scope',
  'kernel.kptr_restrict',
  'kernel.dmesg_restrict',
  'kernel.unprivileged_bpf_disabled',
  'kernel.perf_event_paranoid',
  'kernel.core_uses_pid',
  'kernel.sysrq',
  'dev.tty.ldisc_autoload',
  'fs.protected_hardlinks',
  'fs.protected_symlinks',
  'fs.protected_fifos',
  'fs.protected_regular',
];

/**
 * Kernel modules a Kubernetes appliance host never needs (CIS 1.1.1 file
 * systems and storage, 3.2 network protocols): modprobe is told to refuse them.
 * overlay is not here although CIS 1.1.1.6 lists it: containerd keeps images on it.
 */
export const UNUSED_MODULES: Array<{ id: string; title: string; cis?: string; modules: string[] }> = [
  { id: 'kernel.module-cramfs', title: 'cramfs file systems cannot be mounted (module disabled)', cis: '1.1.1.1', modules: ['cramfs'] },
  { id: 'kernel.module-freevxfs', title: 'freevxfs file systems cannot be mounted (module disabled)', cis: '1.1.1.2', modules: ['freevxfs'] },
  { id: 'kernel.module-hfs', title: 'hfs and hfsplus file systems cannot be mounted (modules disabled)', cis: '1.1.1.3, 1.1.1.4', modules: ['hfs', 'hfsplus'] },
  { id: 'kernel.module-jffs2', title: 'jffs2 file systems cannot be mounted (module disabled)', cis: '1.1.1.5', modules: ['jffs2'] },
  { id: 'kernel.module-udf', title: 'udf file systems cannot be mounted (module disabled)', cis: '1.1.1.8', modules: ['udf'] },
  { id: 'kernel.module-usb-storage', title: 'USB storage cannot be attached (usb-storage disabled)', cis: '1.1.1.9', modules: ['usb-storage'] },
  { id: 'kernel.module-firewire', title: 'FireWire storage cannot be attached (firewire-core disabled)', modules: ['firewire-core'] },
  { id: 'kernel.module-dccp', title: 'the DCCP protocol is off (module disabled)', cis: '3.2.1', modules: ['dccp'] },
  { id: 'kernel.module-tipc', title: 'the TIPC protocol is off (module disabled)', cis: '3.2.2', modules: ['tipc'] },
  { id: 'kernel.module-rds', title: 'the RDS protocol is off (module disabled)', cis: '3.2.3', modules: ['rds'] },
  {
    id: 'kernel.module-sctp',
    title: 'the SCTP protocol is off (module disabled; a cluster that serves SCTP Services needs an exception)',
    cis: '3.2.4',
    modules: ['sctp'],
  },
];

/** legacy network clients and servers, X servers, and desktop services (CIS 2.1, 2.2) */
export const LEGACY_PACKAGES: Array<{ id: string; title: string; cis: string; packages: string[]; units?: string[] }> = [
  {
    id: 'software.telnet',
    title: 'telnet client and server not installed',
    cis: '2.2.4',
    packages: ['telnet', 'inetutils-telnet', 'telnetd', 'inetutils-telnetd', 'telnetd-ssl'],
  },
  {
    id: 'software.rsh',
    title: 'rsh client and server not installed',
    cis: '2.2.2',
    packages: ['rsh-client', 'rsh-redone-client', 'rsh-server', 'rsh-redone-server'],
  },
  { id: 'software.nis', title: 'NIS client and server not installed', cis: '2.2.1', packages: ['nis'] },
  {
    id: 'software.talk',
    title: 'talk client and server not installed',
    cis: '2.2.3',
    packages: ['talk', 'talkd', 'ntalk', 'inetutils-talk', 'inetutils-talkd'],
  },
  {
    id: 'software.ftp',
    title: 'FTP clients and servers not installed',
    cis: '2.2.6',
    packages: ['ftp', 'tnftp', 'inetutils-ftp', 'lftp', 'vsftpd', 'proftpd-core', 'pure-ftpd', 'inetutils-ftpd', 'tftpd-hpa', 'tftp-hpa'],
  },
  { id: 'software.xinetd', title: 'xinetd not installed', cis: '2.1.19', packages: ['xinetd', 'openbsd-inetd', 'inetutils-inetd'] },
  {
    id: 'software.xserver',
    title: 'X Window System servers not installed',
    cis: '2.1.20',
    packages: ['xserver-xorg', 'xserver-xorg-core', 'xserver-xorg-core-udeb', 'xwayland', 'xvfb', 'xserver-common', 'xnest', 'xserver-xephyr'],
  },
  {
    id: 'software.avahi',
    title: 'avahi (mDNS) not installed',
    cis: '2.1.2',
    packages: ['avahi-daemon', 'avahi-autoipd'],
    units: ['avahi-daemon.service', 'avahi-daemon.socket'],
  },
  {
    id: 'software.cups',
    title: 'print server (CUPS) not installed',
    cis: '2.1.11',
    packages: ['cups', 'cups-daemon', 'cups-browsed'],
    units: ['cups.service', 'cups.socket', 'cups-browsed.service'],
  },
];

export const UNIT_NAMES = LEGACY_PACKAGES.flatMap((p) => p.units ?? []);
