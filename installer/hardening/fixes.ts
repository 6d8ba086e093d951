import { posix } from 'node:path';
import { sh } from '../core/quote.ts';
import { MODPROBE_FILE, SSHD_CONFIG, SSHD_CONFIG_DIR, SSHD_DROPIN, SYSCTL_FILE } from './targets.ts';
import type { Fix } from './types.ts';

/**
 * Host commands for fixes, as pure builders (apply.ts runs them). Each is
 * idempotent: run twice, the second run finds the host as the first left it.
 * Nothing here is secret, so contents travel as quoted arguments.
 */
type Of<K extends Fix['kind']> = Extract<Fix, { kind: K }>;

const PRELUDE = 'export LC_ALL=C PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** write a small file whole: temp file beside it, then rename */
export function writeFileCommand(path: string, content: string, mode: number): string {
  const tmp = `${path}.palisade-tmp`;
  return sh`printf '%s' ${content} > ${tmp} && chmod ${mode.toString(8).padStart(4, '0')} ${tmp} && chown root:root ${tmp} && mv -f ${tmp} ${path}`;
}

export function modesScript(fixes: readonly Of<'mode'>[]): string {
  return [
    PRELUDE,
    'set -e',
    ...fixes.map((f) => sh`chown ${`${f.owner}:${f.group}`} ${f.path} && chmod ${f.mode.toString(8).padStart(4, '0')} ${f.path}`),
  ].join('\n');
}

export function filesScript(fixes: readonly Of<'file'>[]): string {
  const last = new Map(fixes.map((f) => [f.path, f]));
  return [
    PRELUDE,
    'set -e',
    ...[...last.values()].flatMap((f) => [sh`install -d -m 0755 ${posix.dirname(f.path)}`, writeFileCommand(f.path, f.content, f.mode)]),
  ].join('\n');
}

/** key = value lines of palisade's sysctl file: what it held, with these fixes over it */
export function sysctlFileContent(previous: string | undefined, fixes: readonly Of<'sysctl'>[]): string {
  const m = new Map<string, string>();
  for (const l of (previous ?? '').split('\n')) {
    const x = /^\s*([a-z0-9_.-]+)\s*=\s*(\S+)\s*$/i.exec(l);
    if (x) m.set(x[1]!, x[2]!);
  }
  for (const f of fixes) m.set(f.key, f.value);
  return `# written by palisade harden: CIS kernel parameters a Kubernetes node can live with\n${[...m].map(([k, v]) => `${k} = ${v}`).join('\n')}\n`;
}

export function sysctlScript(content: string, fixes: readonly Of<'sysctl'>[]): string {
  return [
    PRELUDE,
    'set -e',
    'install -d -m 0755 /etc/sysctl.d',
    writeFileCommand(SYSCTL_FILE, content, 0o644),
    ...fixes.map((f) => sh`sysctl -q -w ${`${f.key}=${f.value}`} >/dev/null`),
  ].join('\n');
}

/**
 * Purge only what was asked: apt-get simulates first, and when it would also
 * remove other packages (something depends on them) nothing is done and the
 * script says which (exit 3). Works offline: removal downloads nothing.
 */
export function purgeScript(packages: readonly string[]): string {
  return [
    PRELUDE,
    'export DEBIAN_FRONTEND=noninteractive',
    sh`want=' '${packages.join(' ')}' '`,
    sh`extra=$(apt-get -s -q purge ${[...packages]} 2>/dev/null | awk '$1 == "Purg" || $1 == "Remv" { print $2 }' | while read -r p; do case "$want" in *" $p "*) ;; *) printf '%s ' "$p";; esac; done)`,
    'if [ -n "$extra" ]; then echo "EXTRA $extra"; exit 3; fi',
    sh`apt-get -y -q purge ${[...packages]} >/dev/null`,
  ].join('\n');
}

/** set KEY VALUE in /etc/login.defs: the live line replaced, else appended */
export function loginDefsScript(fixes: readonly Of<'logindefs'>[]): string {
  return [
    PRELUDE,
    'set -e',
    ...fixes.map(
      (f) =>
        sh`if grep -qE ${`^[[:space:]]*${f.key}[[:space:]]`} /etc/login.defs; then sed -i -E ${`s/^[[:space:]]*${f.key}[[:space:]].*$/${f.key}\t${f.value}/`} /etc/login.defs; else printf '%s\t%s\n' ${f.key} ${f.value} >> /etc/login.defs; fi`,
    ),
  ].join('\n');
}

/** palisade's modprobe file: the modules it refused before and these, each refused (`install M /bin/false`) and blacklisted */
export function modprobeFileContent(previous: string | undefined, fixes: readonly Of<'modprobe'>[]): string {
  const mods = new Set<string>();
  for (const l of (previous ?? '').split('\n')) {
    const x = /^\s*install\s+(\S+)\s+\/bin\/false\s*$/.exec(l);
    if (x) mods.add(x[1]!);
  }
  for (const f of fixes) mods.add(f.module);
  const body = [...mods].sort().map((m) => `install ${m} /bin/false\nblacklist ${m}`);
  return `# written by palisade harden: kernel modules an appliance host does not need (CIS Debian 12, 1.1.1 and 3.2)\n${body.join('\n')}\n`;
}

/** A module already loaded stays until it is unloaded or the host restarts: unloading is tried, never forced. */
export function modprobeScript(content: string, fixes: readonly Of<'modprobe'>[]): string {
  return [
    PRELUDE,
    'set -e',
    'install -d -m 0755 /etc/modprobe.d',
    writeFileCommand(MODPROBE_FILE, content, 0o644),
    ...fixes.map((f) => sh`modprobe -r ${f.module} >/dev/null 2>&1 || true`),
  ].join('\n');
}

/**
 * Mount options added to a mount in /etc/fstab (its line gets the options, or
 * a line is added for a tmpfs the system mounted by itself), then the live
 * mount remounted with them, so the change holds now and after a restart.
 */
export function mountScript(f: Of<'mount'>): string {
  // all of them, not only the missing ones: a remount merges /etc/fstab's options, and "defaults" would undo nosuid
  const opts = f.options.join(',');
  const awk = `BEGIN { split(add, a, ",") } $1 !~ /^#/ && $2 == t { for (i in a) if (("," $4 ",") !~ ("," a[i] ",")) $4 = $4 "," a[i]; found = 1 } { print } END { if (!found) print fs, t, fs, "defaults," add, 0, 0 }`;
  return [
    PRELUDE,
    'set -e',
    'touch /etc/fstab',
    sh`awk -v t=${f.target} -v fs=${f.fstype} -v add=${opts} ${awk} /etc/fstab > /etc/fstab.palisade-tmp`,
    'chmod 0644 /etc/fstab.palisade-tmp && mv -f /etc/fstab.palisade-tmp /etc/fstab',
    sh`mount -o ${`remount,${opts}`} ${f.target}`,
  ].join('\n');
}

export function disableScript(units: readonly string[]): string {
  return [PRELUDE, sh`systemctl disable --now ${[...units]} >/dev/null 2>&1 || true`, sh`systemctl mask ${[...units]} >/dev/null`].join('\n');
}

// ---- sshd ----

/**
 * Directive lines of palisade's drop-in (its earlier content, then these over it), keywords as OpenSSH spells
 * them; what palisade's own user alone keeps goes into a Match block at the end (sshd ends a Match block with
 * the file it is in, so it does not reach the files read after this one).
 */
export function sshdDropinContent(
  previous: string | undefined,
  directives: Record<string, string>,
  forUser?: { user: string; directives: Record<string, string> },
): string {
  const all = new Map<string, [string, string]>();
  const mine = new Map<string, [string, string]>();
  let inMatch = false;
  for (const l of (previous ?? '').split('\n')) {
    if (/^\s*Match\s/i.test(l)) {
      inMatch = true;
      continue;
    }
    const x = /^\s*([A-Za-z][A-Za-z0-9]*)\s+(.+?)\s*$/.exec(l);
    if (x && !l.trim().startsWith('#')) (inMatch ? mine : all).set(x[1]!.toLowerCase(), [x[1]!, x[2]!]);
  }
  for (const [k, v] of Object.entries(directives)) all.set(k.toLowerCase(), [k, v]);
  for (const [k, v] of Object.entries(forUser?.directives ?? {})) mine.set(k.toLowerCase(), [k, v]);
  const lines = (m: Map<string, [string, string]>, indent = '') =>
    [...m.values()].sort((a, b) => a[0].localeCompare(b[0])).map(([k, v]) => `${indent}${k} ${v}`);
  const user = forUser?.user ?? /^\s*Match\s+User\s+(\S+)/im.exec(previous ?? '')?.[1];
  const match =
    mine.size && user
      ? [
          `# palisade's own user: it runs up to 8 commands at once on one connection and reaches services through local forwarding`,
          `Match User ${user}`,
          ...lines(mine, '    '),
        ]
      : [];
  return `# written by palisade harden (CIS Debian 12, 5.1); first in ${SSHD_CONFIG_DIR}, so these values win\n${[...lines(all), ...match].join('\n')}\n`;
}

export const SSHD_PREVIOUS = `${SSHD_DROPIN}.palisade-prev`;
const ABSENT = `${SSHD_DROPIN}.palisade-absent`;
const CONFIG_PREVIOUS = `${SSHD_CONFIG}.palisade-prev`;
const INCLUDE = `Include ${SSHD_CONFIG_DIR}/*.conf`;

// sshd re-executes itself on SIGHUP and listens again a moment later: wait for that (at most 5 s)
const WAIT_LISTEN = `sleep 0.3; p=$(sshd -T 2>/dev/null | awk '$1 == "port" { print $2; exit }'); i=0; while [ $i -lt 50 ] && command -v ss >/dev/null 2>&1 && ! ss -Htln | awk '{ print $4 }' | grep -qE "[:.]\${p:-22}$"; do sleep 0.1; i=$((i + 1)); done`;
const RELOAD_ONLY =
  'if command -v systemctl >/dev/null 2>&1 && systemctl is-active -q ssh.service; then systemctl reload ssh.service; elif command -v systemctl >/dev/null 2>&1 && systemctl is-active -q sshd.service; then systemctl reload sshd.service; else kill -HUP "$(cat /run/sshd.pid)"; fi';
const RELOAD = `${RELOAD_ONLY}\n${WAIT_LISTEN}`;

/**
 * Step 1 of an sshd change: keep the previous drop-in (or a note that there was
 * none) and sshd_config, write the new drop-in, make sure sshd_config includes
 * the directory, then `sshd -t`. If sshd refuses it, put the previous files back
 * and exit 3 with sshd's words; sshd is not reloaded. Otherwise reload.
 */
export function sshdWriteScript(content: string): string {
  return [
    PRELUDE,
    'set -u',
    sh`if [ -e ${SSHD_DROPIN} ]; then cp -p ${SSHD_DROPIN} ${SSHD_PREVIOUS}; rm -f ${ABSENT}; else : > ${ABSENT}; rm -f ${SSHD_PREVIOUS}; fi`,
    sh`cp -p ${SSHD_CONFIG} ${CONFIG_PREVIOUS}`,
    sh`install -d -m 0755 ${SSHD_CONFIG_DIR}`,
    writeFileCommand(SSHD_DROPIN, content, 0o600),
    // Debian's sshd_config includes the directory first; one that does not gets the line on top
    sh`grep -qiE '^[[:space:]]*Include[[:space:]]+/etc/ssh/sshd_config\\.d/\\*\\.conf' ${SSHD_CONFIG} || sed -i ${`1i ${INCLUDE}`} ${SSHD_CONFIG}`,
    'out=$(sshd -t 2>&1); rc=$?',
    `if [ $rc -ne 0 ]; then ${sshdRestoreLines().join('; ')}; printf 'SSHD_T %s\\n' "$out"; exit 3; fi`,
    RELOAD,
  ].join('\n');
}

function sshdRestoreLines(): string[] {
  return [
    sh`if [ -e ${ABSENT} ]; then rm -f ${SSHD_DROPIN} ${ABSENT}; elif [ -e ${SSHD_PREVIOUS} ]; then mv -f ${SSHD_PREVIOUS} ${SSHD_DROPIN}; fi`,
    sh`if [ -e ${CONFIG_PREVIOUS} ]; then mv -f ${CONFIG_PREVIOUS} ${SSHD_CONFIG}; fi`,
  ];
}

/** The fresh login failed: put the previous files back, check them and reload. */
export function sshdRestoreScript(): string {
  return [PRELUDE, 'set -u', ...sshdRestoreLines(), 'sshd -t || exit 4', RELOAD].join('\n');
}

/** The fresh login worked: the kept copies are not needed any more. */
export function sshdCommitScript(): string {
  return [PRELUDE, sh`rm -f ${SSHD_PREVIOUS} ${ABSENT} ${CONFIG_PREVIOUS}`].join('\n');
}
