/**
 * /etc/crypttab and the data directory's mount unit, as text. Pure.
 */

export interface CrypttabEntry {
  name: string;
  /** `UUID=<luks uuid>` */
  device: string;
  keyFile: string;
  options: string[];
}

export interface VolumeSpec {
  name: string;
  uuid: string;
  /** a Tang pin unlocks it: the network must be up first */
  netdev: boolean;
  /** not opened by this run (no device-mapper here): boot must not try either */
  noauto: boolean;
}

export function crypttabEntry(v: VolumeSpec): CrypttabEntry {
  const options = ['luks'];
  if (v.netdev) options.push('_netdev');
  if (v.noauto) options.push('noauto');
  return { name: v.name, device: `UUID=${v.uuid}`, keyFile: 'none', options };
}

export function formatCrypttabLine(e: CrypttabEntry): string {
  return `${e.name} ${e.device} ${e.keyFile} ${e.options.join(',')}`;
}

/** Entry lines by volume name; comments and blank lines are kept aside. */
export function parseCrypttab(text: string): Map<string, CrypttabEntry> {
  const out = new Map<string, CrypttabEntry>();
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const [name, device = '', keyFile = 'none', options = ''] = t.split(/\s+/);
    if (name) out.set(name, { name, device, keyFile, options: options ? options.split(',') : [] });
  }
  return out;
}

function sameEntry(a: CrypttabEntry | undefined, b: CrypttabEntry): boolean {
  return !!a && a.device === b.device && a.keyFile === b.keyFile && a.options.join(',') === b.options.join(',');
}

/**
 * The crypttab with our entries in place: lines of other volumes (and comments)
 * stay exactly as they were, ours are replaced where they are or appended.
 * Returns undefined when nothing would change.
 */
export function mergeCrypttab(current: string, entries: CrypttabEntry[]): string | undefined {
  const existing = parseCrypttab(current);
  if (entries.every((e) => sameEntry(existing.get(e.name), e))) return undefined;
  const wanted = new Map(entries.map((e) => [e.name, e]));
  const lines = current === '' ? [] : current.replace(/\n$/, '').split('\n');
  const placed = new Set<string>();
  const out: string[] = [];
  for (const line of lines) {
    const t = line.trim();
    const name = t && !t.startsWith('#') ? t.split(/\s+/)[0] : undefined;
    const e = name ? wanted.get(name) : undefined;
    if (e && name) {
      if (!placed.has(name)) out.push(formatCrypttabLine(e));
      placed.add(name);
    } else {
      out.push(line);
    }
  }
  if (lines.length === 0) out.push('# <target name> <source device> <key file> <options>');
  for (const e of entries) if (!placed.has(e.name)) out.push(formatCrypttabLine(e));
  return out.join('\n') + '\n';
}

/** Does the crypttab already hold exactly this entry? */
export function crypttabHas(current: string, e: CrypttabEntry): boolean {
  return sameEntry(parseCrypttab(current).get(e.name), e);
}

/** `systemd-escape --path`: /var/lib/palisade -> var-lib-palisade */
export function escapeUnitPath(path: string): string {
  const trimmed = path.replace(/\/+/g, '/').replace(/^\/|\/$/g, '');
  if (trimmed === '') return '-';
  return trimmed
    .split('/')
    .map((part) =>
      [...Buffer.from(part, 'utf8')]
        .map((byte, i) => {
          const c = String.fromCharCode(byte);
          if (/[A-Za-z0-9:_]/.test(c) || (c === '.' && i > 0)) return c;
          return `\\x${byte.toString(16).padStart(2, '0')}`;
        })
        .join(''),
    )
    .join('-');
}

export function mountUnitName(mountPoint: string): string {
  return `${escapeUnitPath(mountPoint)}.mount`;
}

/** The mount unit for an opened data volume. */
export function mountUnit(o: { volume: string; mountPoint: string; netdev: boolean }): string {
  const crypt = `systemd-cryptsetup@${o.volume}.service`;
  return [
    '# Written by palisade: the appliance data directory on its encrypted disk.',
    '[Unit]',
    `Description=palisade data (${o.volume})`,
    `Requires=${crypt}`,
    `After=${crypt}`,
    ...(o.netdev ? ['After=network-online.target', 'Wants=network-online.target'] : []),
    '',
    '[Mount]',
    `What=/dev/mapper/${o.volume}`,
    `Where=${o.mountPoint}`,
    'Type=ext4',
    `Options=defaults,noatime${o.netdev ? ',_netdev' : ''}`,
    '',
    '[Install]',
    `WantedBy=${o.netdev ? 'remote-fs.target' : 'local-fs.target'}`,
    '',
  ].join('\n');
}
