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

/** stat'ed besides the fixed lists: the sshd drop-ins and host keys present */
export const STAT_GLOBS = [`${SSHD_CONFIG_DIR}/*.conf`, '/etc/ssh/ssh_host_*_key', '/etc/ssh/ssh_host_*_key.pub'];
export const TEXT_FILES = [ISSUE, ISSUE_NET, SSHD_DROPIN, SYSCTL_FILE];

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
];

/** legacy network clients and servers, X servers, and desktop services (CIS 2.1, 2.2) */
export const LEGACY_PACKAGES: Array<{ id: string; title: string; cis: string; packages: string[]; units?: string[] }> = [
  { id: 'software.telnet', title: 'telnet client and server not installed', cis: '2.2.4', packages: ['telnet', 'inetutils-telnet', 'telnetd', 'inetutils-telnetd', 'telnetd-ssl'] },
  { id: 'software.rsh', title: 'rsh client and server not installed', cis: '2.2.2', packages: ['rsh-client', 'rsh-redone-client', 'rsh-server', 'rsh-redone-server'] },
  { id: 'software.nis', title: 'NIS client and server not installed', cis: '2.2.1', packages: ['nis'] },
  { id: 'software.talk', title: 'talk client and server not installed', cis: '2.2.3', packages: ['talk', 'talkd', 'ntalk', 'inetutils-talk', 'inetutils-talkd'] },
  { id: 'software.ftp', title: 'FTP clients and servers not installed', cis: '2.2.6', packages: ['ftp', 'tnftp', 'inetutils-ftp', 'lftp', 'vsftpd', 'proftpd-core', 'pure-ftpd', 'inetutils-ftpd', 'tftpd-hpa', 'tftp-hpa'] },
  { id: 'software.xinetd', title: 'xinetd not installed', cis: '2.1.19', packages: ['xinetd', 'openbsd-inetd', 'inetutils-inetd'] },
  { id: 'software.xserver', title: 'X Window System servers not installed', cis: '2.1.20', packages: ['xserver-xorg', 'xserver-xorg-core', 'xserver-xorg-core-udeb', 'xwayland', 'xvfb', 'xserver-common', 'xnest', 'xserver-xephyr'] },
  { id: 'software.avahi', title: 'avahi (mDNS) not installed', cis: '2.1.2', packages: ['avahi-daemon', 'avahi-autoipd'], units: ['avahi-daemon.service', 'avahi-daemon.socket'] },
  { id: 'software.cups', title: 'print server (CUPS) not installed', cis: '2.1.11', packages: ['cups', 'cups-daemon', 'cups-browsed'], units: ['cups.service', 'cups.socket', 'cups-browsed.service'] },
];

export const UNIT_NAMES = LEGACY_PACKAGES.flatMap((p) => p.units ?? []);
