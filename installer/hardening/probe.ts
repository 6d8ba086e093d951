import { raw, sh } from '../core/quote.ts';
import { MOUNT_TARGETS, STAT_GLOBS, STAT_PATHS, SYSCTL_KEYS, TEXT_FILES, UNIT_NAMES } from './targets.ts';

/**
 * The hardening probe: one POSIX-sh script run once per host as root. It only
 * reads (sshd -T / -t, stat, /proc/sys, dpkg-query, systemctl, find) and prints
 * sections between `@@@@ name @@@@` markers for parse.ts. The same state feeds
 * the checks after a fix and the security scan, so a run costs one round trip
 * before and one after.
 */
export const MARK = '@@@@';

export interface HardeningProbeOptions {
  /** palisade's SSH user on this host: sshd's effective settings are asked for that user */
  loginUser: string;
}

const PRELUDE = [
  'export LC_ALL=C PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  `m() { printf '\\n${MARK} %s ${MARK}\\n' "$*"; }`,
  'have() { command -v "$1" >/dev/null 2>&1; }',
  't() { s=$1; shift; if have timeout; then timeout "$s" "$@"; else "$@"; fi; }',
  // a whole-tree find, bounded, skipping kernel and runtime trees and what is meant to be shared
  'ff() { t 120 find / -xdev \\( -path /proc -o -path /sys -o -path /dev -o -path /run -o -path /tmp -o -path /var/tmp \\) -prune -o "$@" -print 2>/dev/null; }',
].join('\n');

export function hardeningProbe(o: HardeningProbeOptions): string {
  const sysctls = SYSCTL_KEYS.map((k) => {
    const p = `/proc/sys/${k.replace(/\./g, '/')}`;
    return sh`if [ -r ${p} ]; then if [ -w ${p} ]; then w=1; else w=0; fi; echo ${k}"|$w|$(cat ${p})"; fi`;
  });
  return [
    PRELUDE,
    'm virt',
    'if have systemd-detect-virt; then systemd-detect-virt -c 2>/dev/null || true; else echo none; fi',
    'm sshd',
    sh`sshd_bin=$(command -v sshd || echo /usr/sbin/sshd); if [ -x "$sshd_bin" ]; then "$sshd_bin" -T -C ${`user=${o.loginUser}`} 2>/dev/null || "$sshd_bin" -T 2>/dev/null; fi`,
    // every account's defaults (no Match applied): the rules that keep a setting for palisade's user alone compare the two
    'm sshdglobal',
    'if [ -x "$sshd_bin" ]; then "$sshd_bin" -T 2>/dev/null; fi',
    'm sshdcheck',
    'if [ -x "$sshd_bin" ]; then "$sshd_bin" -t 2>&1; echo "rc=$?"; else echo "rc=127"; fi',
    'm supported',
    'if have ssh; then for q in cipher mac kex; do echo "$q $(ssh -Q $q 2>/dev/null | tr "\\n" " ")"; done; fi',
    'm stat',
    sh`for f in ${STAT_PATHS} ${raw(STAT_GLOBS.join(' '))}; do [ -e "$f" ] && stat -c '%n|%a|%U|%G' "$f"; done; true`,
    'm text',
    sh`for f in ${TEXT_FILES}; do [ -f "$f" ] && { echo "file $f"; head -c 2048 "$f" | sed 's/^/| /'; echo; }; done; true`,
    'm sysctl',
    ...sysctls,
    'm packages',
    "dpkg-query -W -f='${Package}\\t${Version}\\t${db:Status-Abbrev}\\n' 2>/dev/null",
    'm units',
    sh`if have systemctl; then for u in ${UNIT_NAMES}; do e=$(systemctl is-enabled "$u" 2>/dev/null); [ -n "$e" ] && echo "$u|$e|$(systemctl is-active "$u" 2>/dev/null)"; done; fi; true`,
    'm worldwritable',
    'ff -type f -perm -0002 | head -n 200',
    'm worldwritabledirs',
    'ff -type d -perm -0002 ! -perm -1000 | head -n 200',
    'm unowned',
    "ff '(' -nouser -o -nogroup ')' | head -n 200",
    'm suid',
    "ff -type f '(' -perm -4000 -o -perm -2000 ')' | head -n 500",
    'm logindefs',
    "grep -hE '^[[:space:]]*(PASS_MAX_DAYS|PASS_MIN_DAYS|UMASK|ENCRYPT_METHOD|SHA_CRYPT_MIN_ROUNDS|SHA_CRYPT_MAX_ROUNDS)[[:space:]]' /etc/login.defs 2>/dev/null; true",
    'm corelimits',
    "grep -hE '^[[:space:]]*\\*[[:space:]]+hard[[:space:]]+core[[:space:]]' /etc/security/limits.conf /etc/security/limits.d/*.conf 2>/dev/null; true",
    'm coredump',
    "grep -hiE '^[[:space:]]*(Storage|ProcessSizeMax)[[:space:]]*=' /etc/systemd/coredump.conf /etc/systemd/coredump.conf.d/*.conf 2>/dev/null; true",
    'm profile',
    "grep -hE '^[[:space:]]*([A-Za-z]+[[:space:]]+)?TMOUT|^[[:space:]]*ulimit[[:space:]]+(-[A-Za-z]*[[:space:]]+)*-c' /etc/profile /etc/profile.d/*.sh 2>/dev/null; true",
    'm modprobe',
    "grep -hE '^[[:space:]]*(install|blacklist)[[:space:]]' /etc/modprobe.d/*.conf 2>/dev/null; true",
    'm mounts',
    sh`for d in ${MOUNT_TARGETS}; do if have findmnt; then findmnt -n -M "$d" -o TARGET,FSTYPE,OPTIONS 2>/dev/null | head -n 1; fi; done; true`,
    'm keyusers',
    // who can log in with a key: sshd's AuthorizedKeysFile (%h, %u, %%; relative to the home) for every account
    `akf=$(if [ -x "$sshd_bin" ]; then "$sshd_bin" -T 2>/dev/null | awk '$1 == "authorizedkeysfile" { $1 = ""; print }'; fi)`,
    `getent passwd 2>/dev/null | while IFS=: read -r u _ _ _ _ h _; do for f in \${akf:-.ssh/authorized_keys .ssh/authorized_keys2}; do p=$(printf '%s' "$f" | sed "s|%h|$h|g; s|%u|$u|g; s|%%|%|g"); case $p in /*) ;; *) p="$h/$p";; esac; if [ -s "$p" ] && grep -qvE '^[[:space:]]*(#|$)' "$p" 2>/dev/null; then echo "$u"; break; fi; done; done; true`,
    'm os',
    'if [ -r /etc/os-release ]; then (. /etc/os-release; echo "${ID:-unknown} ${VERSION_ID:-unknown}"); else echo "unknown unknown"; fi',
    'dpkg --print-architecture 2>/dev/null || uname -m',
    'm listening',
    'if have ss; then ss -Htlnu 2>/dev/null | awk \'{ print $1 " " $5 }\'; fi',
    'm end',
  ].join('\n');
}
