import type { RemoteHost } from '../hosts/types.ts';
import { PalisadeError } from '../core/errors.ts';
import { sh, raw } from '../core/quote.ts';
import { parseLuksDump } from './luks.ts';
import { REMOTE_PRELUDE } from './commands.ts';
import { volumeName } from './settings.ts';
import type { DiskFacts, HostEncryptionFacts } from './types.ts';

/**
 * Everything encryption planning needs from a host, in one SSH round trip:
 * a shell script prints sections between markers, `parseEncryptionFacts`
 * reads them. Nothing in the script changes the host.
 */
const MARK = '@@palisade-enc';

export function encryptionFactsScript(disks: readonly string[], mountPoint: string): string {
  const perDisk = disks
    .map(
      (d, i) =>
        sh`d=${d}
m disk ${i}
if [ -e ${`/dev/mapper/${volumeName(d)}`} ]; then echo mapped=1; else echo mapped=0; fi
if [ ! -e "$d" ]; then echo exists=0; else
echo exists=1
if [ -b "$d" ]; then echo block=1; else echo block=0; fi
echo "size=$(blockdev --getsize64 "$d" 2>/dev/null)"
echo "ro=$(blockdev --getro "$d" 2>/dev/null)"
echo "head=$(head -c 1048576 "$d" 2>/dev/null | tr -d '\\000' | wc -c)"
m lsblk ${i}
lsblk -J -b -o NAME,PATH,TYPE,SIZE,FSTYPE,PTTYPE,MOUNTPOINT,RO "$d" 2>/dev/null
m blkid ${i}
blkid -p -o export "$d" 2>/dev/null
m luksdump ${i}
if cryptsetup isLuks --type luks2 "$d" 2>/dev/null; then cryptsetup luksDump --dump-json-metadata "$d" 2>/dev/null; fi
m clevis ${i}
if cryptsetup isLuks --type luks2 "$d" 2>/dev/null; then clevis luks list -d "$d" 2>/dev/null; fi
fi`,
    )
    .join('\n');
  return [
    REMOTE_PRELUDE,
    raw(`m() { printf '\\n${MARK} %s\\n' "$*"; }`).text,
    'm host',
    // the kernel driver, not /dev/mapper/control: libdevmapper creates that node even where the driver is missing
    'if grep -qs device-mapper /proc/misc || modprobe -n -q dm_mod 2>/dev/null; then echo dm=1; else echo dm=0; fi',
    'for t in cryptsetup clevis clevis-encrypt-tang clevis-encrypt-tpm2 curl wipefs; do if command -v "$t" >/dev/null 2>&1; then echo "tool.$t=1"; else echo "tool.$t=0"; fi; done',
    'if [ -e /dev/tpmrm0 ] || [ -e /dev/tpm0 ] || [ -n "${TPM2TOOLS_TCTI:-}${TSS2_TCTI:-}${TCTI:-}" ]; then echo tpm=1; else echo tpm=0; fi',
    sh`if mountpoint -q ${mountPoint} 2>/dev/null; then echo mounted=1; else echo mounted=0; fi`,
    'm crypttab',
    'if [ -r /etc/crypttab ]; then base64 -w0 /etc/crypttab; fi',
    perDisk,
    'm end',
  ].join('\n');
}

interface Section {
  name: string;
  index: number | undefined;
  body: string;
}

function sections(text: string): Section[] {
  const out: Section[] = [];
  let cur: Section | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${MARK} `)) {
      const [name = '', idx] = line
        .slice(MARK.length + 1)
        .trim()
        .split(/\s+/);
      cur = { name, index: idx === undefined ? undefined : Number(idx), body: '' };
      out.push(cur);
    } else if (cur) {
      cur.body += (cur.body ? '\n' : '') + line;
    }
  }
  return out.map((s) => ({ ...s, body: s.body.replace(/\n+$/, '') }));
}

function kv(body: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of body.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

interface LsblkDevice {
  name?: string;
  path?: string;
  type?: string;
  size?: number | string;
  mountpoint?: string | null;
  mountpoints?: Array<string | null>;
  ro?: boolean | string;
  children?: LsblkDevice[];
}

function lsblkMountpoints(d: LsblkDevice): string[] {
  const own = [d.mountpoint, ...(d.mountpoints ?? [])].filter((m): m is string => typeof m === 'string' && m.length > 0);
  return [...new Set([...own, ...(d.children ?? []).flatMap(lsblkMountpoints)])];
}

/** Parse the facts script's output. Throws when the output is not from the script (truncated, wrong shell). */
export function parseEncryptionFacts(host: string, disks: readonly string[], text: string): HostEncryptionFacts {
  const secs = sections(text);
  if (!secs.some((s) => s.name === 'end')) {
    throw new PalisadeError('encryption.facts', `${host}: the disk probe did not finish`, {
      hint: 'run `palisade encryption plan -v` and check the host shell and sudo',
    });
  }
  const hostKv = kv(secs.find((s) => s.name === 'host')?.body ?? '');
  const crypttabB64 = secs.find((s) => s.name === 'crypttab')?.body.trim() ?? '';
  const facts: HostEncryptionFacts = {
    host,
    deviceMapper: hostKv.dm === '1',
    tools: {
      cryptsetup: hostKv['tool.cryptsetup'] === '1',
      clevis: hostKv['tool.clevis'] === '1',
      clevisTang: hostKv['tool.clevis-encrypt-tang'] === '1',
      clevisTpm2: hostKv['tool.clevis-encrypt-tpm2'] === '1',
      curl: hostKv['tool.curl'] === '1',
      wipefs: hostKv['tool.wipefs'] === '1',
    },
    tpm: hostKv.tpm === '1',
    mountActive: hostKv.mounted === '1',
    crypttab: crypttabB64 ? Buffer.from(crypttabB64, 'base64').toString('utf8') : '',
    disks: [],
  };
  disks.forEach((device, i) => {
    const of = (name: string) => secs.find((s) => s.name === name && s.index === i)?.body ?? '';
    const d = kv(of('disk'));
    const df: DiskFacts = {
      device,
      exists: d.exists === '1',
      isBlockDevice: d.block === '1',
      sizeBytes: d.size ? Number(d.size) : undefined,
      readOnly: d.ro === '1',
      partitions: [],
      mountpoints: [],
      blkid: kv(of('blkid')),
      luks: undefined,
      clevisList: [],
      nonZeroHeadBytes: Number(d.head ?? 0) || 0,
      mapped: d.mapped === '1',
    };
    const lsblkText = of('lsblk').trim();
    if (lsblkText) {
      try {
        const top = (JSON.parse(lsblkText) as { blockdevices?: LsblkDevice[] }).blockdevices?.[0];
        if (top) {
          df.partitions = (top.children ?? []).filter((c) => c.type === 'part').map((c) => c.path ?? c.name ?? '?');
          df.mountpoints = lsblkMountpoints(top);
          if (df.sizeBytes === undefined && top.size !== undefined) df.sizeBytes = Number(top.size);
        }
      } catch {
        // lsblk without a udev database (containers) may print nothing useful; blkid still probes
      }
    }
    const dump = of('luksdump').trim();
    if (dump) {
      try {
        df.luks = parseLuksDump(dump);
      } catch {
        df.luks = undefined;
      }
    }
    df.clevisList = of('clevis')
      .split('\n')
      .filter((l) => l.trim());
    facts.disks.push(df);
  });
  return facts;
}

/** Run the probe on a host (one round trip) and parse it. */
export async function gatherEncryptionFacts(host: RemoteHost, disks: readonly string[], mountPoint: string): Promise<HostEncryptionFacts> {
  const r = await host.exec(encryptionFactsScript(disks, mountPoint), { sudo: true });
  if (r.code !== 0) {
    throw new PalisadeError('encryption.facts', `${host.name}: the disk probe failed (exit ${r.code}): ${r.stderr.trim().split('\n').pop() ?? ''}`, {
      hint: 'check that the SSH user can run sudo without a prompt',
    });
  }
  return parseEncryptionFacts(host.name, disks, r.stdout);
}
