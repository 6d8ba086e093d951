import { sh } from '../core/quote.ts';
import { PUBLIC_PROBE_ADDRESSES, SYSCTLS } from './types.ts';

/**
 * The host probe: one POSIX-sh script, run once per host over SSH (as root
 * through sudo). It prints sections between `==== name ====` markers that
 * parse.ts reads. It changes nothing on the host except a scratch directory
 * for the sync-latency probe (a few MB under /var/lib, removed on exit), and
 * it sends no network traffic: routes are read with `ip route get`, which
 * only consults the routing table.
 */
export const MARK = '====';

export interface ProbeOptions {
  fqdn: string;
  dataDisk?: string;
  /** run the fdatasync latency probe (default true) */
  diskLatency?: boolean;
  /** seconds the latency probe may take (default 3) */
  latencySeconds?: number;
  /** sections to include (default: all); the admin machine runs a subset */
  only?: readonly SectionName[];
}

export const SECTIONS = [
  'clock',
  'identity',
  'osrelease',
  'cpuinfo',
  'meminfo',
  'cgroup',
  'lsblk',
  'datadisk',
  'nics',
  'timesync',
  'ports',
  'kernel',
  'sysctl',
  'tpm',
  'routes',
  'resolv',
  'fqdn',
  'latency',
] as const;
export type SectionName = (typeof SECTIONS)[number];

const PRELUDE = [
  'export LC_ALL=C PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  // only the TCTI variables, read as data: sourcing /etc/environment could run anything in it
  `for v in TPM2TOOLS_TCTI TSS2_TCTI; do if [ -z "$(printenv "$v")" ] && [ -r /etc/environment ]; then x=$(sed -n "s/^[[:space:]]*\\(export[[:space:]]\\{1,\\}\\)\\{0,1\\}$v=//p" /etc/environment | tail -n 1 | tr -d "\\"'"); if [ -n "$x" ]; then export "$v=$x"; fi; fi; done`,
  `m() { printf '\\n${MARK} %s ${MARK}\\n' "$*"; }`,
  'have() { command -v "$1" >/dev/null 2>&1; }',
  // bounded: a hung tool (a TPM behind a dead TCTI, a slow resolver) must not hang the probe
  't() { s=$1; shift; if have timeout; then timeout "$s" "$@"; else "$@"; fi; }',
  `nowns() { x=$(date +%s%N 2>/dev/null); case "$x" in *N*|'') echo "$(date +%s)000000000";; *) echo "$x";; esac; }`,
].join('\n');

function section(name: SectionName, o: ProbeOptions): string {
  switch (name) {
    case 'clock':
      // first, and read before anything is printed: the admin brackets it between sending the
      // script and the first bytes back, so no output may leave before the clock is read
      return 'clock_ns=$(nowns)\nm clock\necho "$clock_ns"';
    case 'identity':
      return [
        'm identity',
        'echo "hostname=$(cat /proc/sys/kernel/hostname 2>/dev/null || hostname)"',
        'echo "machine_id=$(cat /etc/machine-id 2>/dev/null)"',
        'echo "product_uuid=$(cat /sys/class/dmi/id/product_uuid 2>/dev/null)"',
        'echo "kernel=$(uname -r)"',
        'echo "arch=$(uname -m)"',
        'echo "nproc=$(nproc 2>/dev/null)"',
      ].join('\n');
    case 'osrelease':
      return 'm osrelease\ncat /etc/os-release 2>/dev/null || cat /usr/lib/os-release 2>/dev/null';
    case 'cpuinfo':
      return "m cpuinfo\nawk '/^flags/ { if (!f) print; f = 1; next } /^(processor|physical id|core id|model name|cpu cores)[[:space:]]*:/' /proc/cpuinfo 2>/dev/null";
    case 'meminfo':
      return "m meminfo\ngrep -E '^(MemTotal|MemAvailable|SwapTotal|SwapFree):' /proc/meminfo 2>/dev/null";
    case 'cgroup':
      return 'm cgroup\nstat -fc %T /sys/fs/cgroup 2>/dev/null';
    case 'lsblk':
      return [
        'm lsblk',
        // MOUNTPOINTS needs util-linux >= 2.37; older lsblk gets MOUNTPOINT; no JSON at all: pairs with the parent name
        'lsblk -J -b -o NAME,PATH,SIZE,ROTA,TYPE,MODEL,SERIAL,MOUNTPOINTS,FSTYPE 2>/dev/null || lsblk -J -b -o NAME,SIZE,ROTA,TYPE,MODEL,SERIAL,MOUNTPOINT,FSTYPE 2>/dev/null || lsblk -P -b -o NAME,PKNAME,SIZE,ROTA,TYPE,MODEL,SERIAL,MOUNTPOINT,FSTYPE 2>/dev/null',
      ].join('\n');
    case 'datadisk':
      if (!o.dataDisk) return '';
      return sh`m datadisk
d=${o.dataDisk}
if [ -e "$d" ]; then echo exists=1; else echo exists=0; fi
if [ -b "$d" ]; then
echo block=1
mm=$(printf '%d:%d' "0x$(stat -Lc %t "$d")" "0x$(stat -Lc %T "$d")")
echo "devno=$mm"
sz=$(t 10 blockdev --getsize64 "$d" 2>/dev/null)
if [ -z "$sz" ] && [ -r "/sys/dev/block/$mm/size" ]; then sz=$(( $(cat "/sys/dev/block/$mm/size") * 512 )); fi
echo "size=$sz"
t 10 blkid -p -o export "$d" 2>/dev/null | sed -n 's/^\\(TYPE\\|PTTYPE\\)=/blkid.\\1=/p'
if [ -d "/sys/dev/block/$mm" ]; then
  for p in /sys/dev/block/$mm/*/partition; do [ -e "$p" ] && echo "part=$(basename "$(dirname "$p")") $(cat "$(dirname "$p")/dev")"; done
  for h in /sys/dev/block/$mm/holders/*; do [ -e "$h" ] && echo "holder=$(basename "$h")"; done
fi
devs="$mm $(for p in /sys/dev/block/$mm/*/partition; do [ -e "$p" ] && cat "$(dirname "$p")/dev"; done)"
awk -v devs="$devs" 'BEGIN { n = split(devs, a, " "); for (i = 1; i <= n; i++) want[a[i]] = 1 } want[$3] { print "mount=" $5 }' /proc/self/mountinfo 2>/dev/null
else echo block=0
fi`;
    case 'nics':
      return [
        'm nics',
        'ip -j addr show 2>/dev/null || { for i in /sys/class/net/*; do echo "sys $(basename "$i") $(cat "$i/address" 2>/dev/null) $(cat "$i/mtu" 2>/dev/null) $(cat "$i/operstate" 2>/dev/null)"; done; ip -o addr show 2>/dev/null; }',
      ].join('\n');
    case 'timesync':
      return [
        'm chrony',
        'if have chronyc; then echo "# chronyc"; t 3 chronyc -n tracking 2>&1; fi',
        'm timedatectl',
        'if have timedatectl; then t 3 timedatectl show 2>/dev/null; fi',
      ].join('\n');
    case 'ports':
      return ['m ports', 'if have ss && ss -Htln >/dev/null 2>&1; then ss -Htln; else echo "# proc"; cat /proc/net/tcp /proc/net/tcp6 2>/dev/null; fi'].join(
        '\n',
      );
    case 'kernel':
      return [
        'm kernel',
        'mp() { if have modprobe && modprobe -n -q "$1" 2>/dev/null; then echo 1; else echo 0; fi; }',
        'bi() { if grep -qs "/$1.ko" "/lib/modules/$(uname -r)/modules.builtin"; then echo 1; else echo 0; fi; }',
        'echo "overlay.fs=$(if grep -qw overlay /proc/filesystems 2>/dev/null; then echo 1; else echo 0; fi)"',
        'echo "overlay.module=$([ -d /sys/module/overlay ] && echo 1 || echo 0)"',
        'echo "overlay.modprobe=$(mp overlay)"',
        'echo "br_netfilter.module=$([ -d /sys/module/br_netfilter ] && echo 1 || echo 0)"',
        'echo "br_netfilter.sysctl=$([ -d /proc/sys/net/bridge ] && echo 1 || echo 0)"',
        'echo "br_netfilter.modprobe=$(mp br_netfilter)"',
        // the kernel driver, not only /dev/mapper/control: libdevmapper creates that node even where the driver is missing
        'echo "dm.misc=$(if grep -qs device-mapper /proc/misc; then echo 1; else echo 0; fi)"',
        'echo "dm.control=$([ -e /dev/mapper/control ] && echo 1 || echo 0)"',
        'echo "dm.modprobe=$(mp dm_mod)"',
        'echo "dm_crypt.module=$([ -d /sys/module/dm_crypt ] && echo 1 || echo 0)"',
        'echo "dm_crypt.builtin=$(bi dm-crypt)"',
        'echo "dm_crypt.modprobe=$(mp dm_crypt)"',
        'echo "crypto.xts_aes=$(if grep -qs \'xts(aes)\' /proc/crypto; then echo 1; else echo 0; fi)"',
      ].join('\n');
    case 'sysctl':
      return [
        'm sysctl',
        ...SYSCTLS.map((k) => `if [ -r /proc/sys/${k.replace(/\./g, '/')} ]; then echo "${k}=$(cat /proc/sys/${k.replace(/\./g, '/')})"; fi`),
      ].join('\n');
    case 'tpm':
      return [
        'm tpm',
        'for dv in /dev/tpmrm0 /dev/tpm0; do [ -e "$dv" ] && echo "device=$dv"; done',
        'tc="${TPM2TOOLS_TCTI:-${TSS2_TCTI:-}}"',
        'if [ -n "$tc" ]; then echo "tcti=$tc"; fi',
        // only when there is no device node: a TCTI-only TPM (swtpm) proves itself by answering
        'if [ -n "$tc" ] && have tpm2_getcap; then echo "getcap=$(t 5 tpm2_getcap properties-fixed 2>/dev/null | awk \'/TPM2_PT_FAMILY_INDICATOR/ { f = 1; next } f && /value:/ { gsub(/"/, ""); print $2; exit }\')"; fi',
        'if ! have tpm2_getcap; then echo "getcap=missing-tool"; fi',
      ].join('\n');
    case 'routes':
      return [
        'm routes',
        'ip route show default 2>/dev/null | sed "s/^/v4 /"',
        'ip -6 route show default 2>/dev/null | sed "s/^/v6 /"',
        ...PUBLIC_PROBE_ADDRESSES.map((a) => sh`r=$(ip route get ${a} 2>&1); echo "get ${a} $? $(echo "$r" | head -n 1)"`),
      ].join('\n');
    case 'resolv':
      return [
        'm resolv',
        "grep -E '^[[:space:]]*nameserver' /etc/resolv.conf 2>/dev/null",
        // systemd-resolved's stub (127.0.0.53) forwards to these
        "grep -E '^[[:space:]]*nameserver' /run/systemd/resolve/resolv.conf 2>/dev/null | sed 's/^/resolved /'",
      ].join('\n');
    case 'fqdn':
      return sh`m fqdn
t 5 getent ahosts ${o.fqdn} 2>/dev/null | awk '{ print $1 }' | sort -u`;
    case 'latency': {
      if (o.diskLatency === false) return '';
      const secs = Math.max(1, Math.min(10, Math.round(o.latencySeconds ?? 3)));
      return `m latency
base=/var/lib; [ -d "$base" ] && [ -w "$base" ] || base=/var/tmp
d=$(mktemp -d "$base/.palisade-preflight.XXXXXX" 2>/dev/null)
if [ -z "$d" ]; then echo "error=cannot create a scratch directory under $base"; else
trap 'rm -rf "$d"' EXIT
echo "path=$d"
fio_out=
if have fio; then fio_out=$(t ${secs + 10} fio --name=palisade-sync --directory="$d" --rw=write --ioengine=sync --fdatasync=1 --bs=2300 --size=4m --runtime=${secs} --output-format=json 2>/dev/null); fi
if printf '%s' "$fio_out" | grep -q '"jobs"'; then
  echo method=fio
  printf '%s\n' "$fio_out"
else
  # no fio, or fio without a result: time single O_DSYNC writes with dd, minus the cost of a plain dd
  case "$(date +%N)" in *N*) echo "error=neither fio nor a nanosecond clock (GNU date) on the host";; *)
  echo method=dd
  # interleaved, so both see the same load
  end=$(( $(date +%s%N) + ${secs}000000000 )); i=0
  while [ $i -lt 400 ]; do
    a=$(date +%s%N); [ "$a" -gt "$end" ] && break
    dd if=/dev/zero of="$d/f" bs=2300 count=1 conv=notrunc 2>/dev/null; b=$(date +%s%N); echo "base $(( (b - a) / 1000 ))"
    a=$(date +%s%N); dd if=/dev/zero of="$d/f" bs=2300 count=1 oflag=dsync conv=notrunc 2>/dev/null; b=$(date +%s%N); echo "sync $(( (b - a) / 1000 ))"
    i=$((i + 1))
  done;;
  esac
fi
rm -rf "$d"
fi`;
    }
  }
}

/** The probe script for one host. */
export function probeScript(o: ProbeOptions): string {
  const names = o.only ?? SECTIONS;
  return [
    PRELUDE,
    ...SECTIONS.filter((s) => names.includes(s))
      .map((s) => section(s, o))
      .filter(Boolean),
    'm end',
  ].join('\n');
}
