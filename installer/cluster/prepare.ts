import { raw, sh } from '../core/quote.ts';
import type { DesiredFile } from '../hosts/files.ts';

/**
 * Host preparation for the cluster, as pure functions: the files to keep in
 * place (sysctls and modules to load at boot; put there by the desired-files
 * helper), a probe for what no file says (swap at boot, the /etc/hosts entry
 * for the FQDN), and the script that does what is missing now, skipping (and
 * saying so) what the host cannot do — a container host cannot load kernel
 * modules or set some sysctls.
 */
export const PREPARE_FILES = {
  sysctl: '/etc/sysctl.d/90-palisade.conf',
  modules: '/etc/modules-load.d/palisade.conf',
  hosts: '/etc/hosts',
} as const;

export const MODULES = ['overlay', 'br_netfilter'] as const;
export const SYSCTLS: ReadonlyArray<[string, string]> = [
  ['net.ipv4.ip_forward', '1'],
  ['net.bridge.bridge-nf-call-iptables', '1'],
  ['net.bridge.bridge-nf-call-ip6tables', '1'],
];
const MARK = '# palisade';

export interface PrepareInput {
  fqdn: string;
  /** where the FQDN points: the VIP, or the first controller */
  fqdnAddress: string;
  /** for tests (default /etc/hosts) */
  hostsFile?: string;
}

/** True (exit 0) when our line is there and no other live line maps the FQDN. */
export function hostsCheck(i: PrepareInput): string {
  return sh`awk -v f=${i.fqdn} -v want=${hostsLine(i)} '$0 == want { ok = 1; next } /^[[:space:]]*#/ { next } { for (n = 2; n <= NF; n++) { if (substr($n, 1, 1) == "#") break; if ($n == f) bad = 1 } } END { exit !(ok && !bad) }' ${i.hostsFile ?? PREPARE_FILES.hosts}`;
}

/** Our line last; an older one of ours dropped; another live line mapping the FQDN commented out (kept, marked). */
export function hostsRewrite(i: PrepareInput): string {
  const f = i.hostsFile ?? PREPARE_FILES.hosts;
  return sh`awk -v f=${i.fqdn} -v want=${hostsLine(i)} -v mark=${` ${MARK}`} 'length($0) >= length(mark) && substr($0, length($0) - length(mark) + 1) == mark { next } /^[[:space:]]*#/ { print; next } { m = 0; for (n = 2; n <= NF; n++) { if (substr($n, 1, 1) == "#") break; if ($n == f) m = 1 } if (m) print "# " $0 " ${raw(REPLACED)}"; else print } END { print want }' ${f} > ${`${f}.palisade.tmp`} && cat ${`${f}.palisade.tmp`} > ${f} && rm -f ${`${f}.palisade.tmp`}`;
}

/** marks a line of the operator's that mapped the FQDN elsewhere (undo: drop the leading "# " and this mark) */
export const REPLACED = '# palisade: replaced';

export function sysctlFile(): string {
  return `# written by palisade: what the cluster network needs\n${SYSCTLS.map(([k, v]) => `${k} = ${v}`).join('\n')}\n`;
}
export function modulesFile(): string {
  return `# written by palisade: kernel modules the cluster needs\n${MODULES.join('\n')}\n`;
}
export const hostsLine = (i: PrepareInput): string => `${i.fqdnAddress} ${i.fqdn} ${MARK}`;

/** What preparing a host may do: write and apply the sysctls, the modules, swap off, the FQDN line. */
export type PrepareItem = 'sysctl' | 'modules' | 'swap' | 'hosts';

/** The files a prepared host has, with what each stands for (the sysctls and modules at boot). */
export function prepareFiles(): Array<DesiredFile & { item: PrepareItem }> {
  return [
    { item: 'sysctl', path: PREPARE_FILES.sysctl, source: Buffer.from(sysctlFile()), mode: 0o644 },
    { item: 'modules', path: PREPARE_FILES.modules, source: Buffer.from(modulesFile()), mode: 0o644 },
  ];
}

/** Prints one `TODO <item>` line per thing not in place that no file of prepareFiles() shows; nothing when it is all there. */
export function prepareProbe(i: PrepareInput): string {
  return [
    // swap configured at boot (a container host may see swap it cannot turn off: the run notes it)
    `! grep -qE '^[^#].*[[:space:]]swap[[:space:]]' /etc/fstab 2>/dev/null || echo 'TODO swap'`,
    `${hostsCheck(i)} || echo 'TODO hosts'`,
  ].join('\n');
}

export function parseProbe(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('TODO '))
    .map((l) => l.slice(5).trim());
}

/**
 * Do the items now: apply the sysctls and load the modules (their files hold
 * them for the next boot), swap off now and at boot, the FQDN line. Prints
 * `NOTE ...` lines for what the host cannot do (skipped, not failed).
 */
export function prepareScript(i: PrepareInput, items: readonly PrepareItem[]): string {
  // the modules before the sysctls: the bridge sysctls exist only once br_netfilter is loaded; both are cheap and idempotent, so either item does both
  const kernel = items.includes('sysctl') || items.includes('modules');
  const lines = [
    'set -u',
    ...(kernel
      ? MODULES.map(
          (m) =>
            sh`if ! grep -qw ${`^${m}`} /proc/modules 2>/dev/null && ! modprobe ${m} 2>/dev/null; then [ -d ${`/sys/module/${m}`} ] || echo ${`NOTE skipped: host cannot load kernel module ${m}`}; fi`,
        )
      : []),
    ...(kernel
      ? SYSCTLS.map(
          ([k, v]) =>
            sh`if [ "$(sysctl -n ${k} 2>/dev/null)" != ${v} ] && ! sysctl -q -w ${`${k}=${v}`} >/dev/null 2>&1; then echo ${`NOTE skipped: host cannot set ${k}`}; fi`,
        )
      : []),
    ...(items.includes('swap')
      ? [
          `if [ -n "$(tail -n +2 /proc/swaps 2>/dev/null)" ]; then swapoff -a 2>/dev/null || echo 'NOTE skipped: host cannot turn swap off (swapoff failed)'; fi`,
          `if grep -qE '^[^#].*[[:space:]]swap[[:space:]]' /etc/fstab 2>/dev/null; then sed -i.palisade-bak -E 's/^([^#].*[[:space:]]swap[[:space:]].*)$/# \\1 ${MARK}: swap off/' /etc/fstab; fi`,
        ]
      : []),
    // the FQDN resolves on every host (replace an older palisade line)
    ...(items.includes('hosts') ? [hostsRewrite(i)] : []),
    'true',
  ];
  return lines.join('\n');
}

export function parseNotes(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('NOTE '))
    .map((l) => l.slice(5).trim());
}
