import { MARK } from './probe.ts';
import type { FileStat, HostState, InstalledPackage } from './types.ts';

/** Reads the hardening probe's output (probe.ts) into a HostState. Pure: the unit tests feed it recorded outputs. */
export function splitSections(stdout: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let cur: string[] | undefined;
  const re = new RegExp(`^${MARK} (.+) ${MARK}$`);
  for (const line of stdout.split('\n')) {
    const m = re.exec(line);
    if (m) {
      cur = [];
      out.set(m[1]!, cur);
    } else cur?.push(line);
  }
  return out;
}

const lines = (s: Map<string, string[]>, name: string): string[] => (s.get(name) ?? []).filter((l) => l.trim() !== '');

export function parseHardeningProbe(stdout: string, o: { host: string; loginUser: string }): HostState {
  const s = splitSections(stdout);
  const problems: string[] = [];
  if (!s.has('end')) problems.push('the probe did not finish');

  const settings = (section: string) => {
    const out: Record<string, string> = {};
    for (const l of lines(s, section)) {
      const i = l.indexOf(' ');
      const k = (i < 0 ? l : l.slice(0, i)).toLowerCase();
      const v = i < 0 ? '' : l.slice(i + 1).trim();
      // list keywords (acceptenv, listenaddress, hostkey) repeat: keep every value
      out[k] = out[k] === undefined ? v : `${out[k]} ${v}`;
    }
    return out;
  };
  const sshd = settings('sshd');

  const check = lines(s, 'sshdcheck');
  const rc = Number(/^rc=(\d+)$/.exec(check.at(-1) ?? '')?.[1] ?? 1);
  const sshdError = check.slice(0, -1).join('\n').trim();

  const supported = { ciphers: [] as string[], macs: [] as string[], kex: [] as string[] };
  for (const l of lines(s, 'supported')) {
    const [q, ...rest] = l.trim().split(/\s+/);
    if (q === 'cipher') supported.ciphers = rest;
    if (q === 'mac') supported.macs = rest;
    if (q === 'kex') supported.kex = rest;
  }

  const files: Record<string, FileStat> = {};
  for (const l of lines(s, 'stat')) {
    const [path, mode, owner, group] = l.split('|');
    if (path && mode && owner && group) files[path] = { mode: parseInt(mode, 8), owner, group };
  }

  const text: Record<string, string> = {};
  let curFile: string | undefined;
  for (const l of s.get('text') ?? []) {
    if (l.startsWith('file ')) {
      curFile = l.slice(5);
      text[curFile] = '';
    } else if (curFile !== undefined && l.startsWith('| ')) text[curFile] += `${l.slice(2)}\n`;
    else if (curFile !== undefined && l === '|') text[curFile] += '\n';
  }

  const sysctl: HostState['sysctl'] = {};
  for (const l of lines(s, 'sysctl')) {
    const [key, w, ...v] = l.split('|');
    if (key && w !== undefined) sysctl[key] = { value: v.join('|').trim(), writable: w === '1' };
  }

  const packages: Record<string, InstalledPackage> = {};
  for (const l of lines(s, 'packages')) {
    const [name, version, status] = l.split('\t');
    if (name && version !== undefined) packages[name.replace(/:.*$/, '')] = { name: name.replace(/:.*$/, ''), version, status: (status ?? '').trim() };
  }

  const units: HostState['units'] = {};
  for (const l of lines(s, 'units')) {
    const [u, enabled, active] = l.split('|');
    if (u && enabled) units[u] = { enabled, active: active ?? '' };
  }

  const [osId = 'unknown', osVersion = 'unknown'] = (lines(s, 'os')[0] ?? '').trim().split(/\s+/);
  const os = { id: osId, version: osVersion, arch: (lines(s, 'os')[1] ?? 'unknown').trim() };
  const loginDefs: Record<string, string> = {};
  for (const l of lines(s, 'logindefs')) {
    const [k, v] = l.trim().split(/\s+/);
    if (k && v) loginDefs[k] = v;
  }
  const mounts: HostState['mounts'] = {};
  for (const l of lines(s, 'mounts')) {
    const [target, fstype, options] = l.trim().split(/\s+/);
    if (target && fstype) mounts[target] = { fstype, options: (options ?? '').split(',').filter(Boolean) };
  }
  return {
    host: o.host,
    coredump: lines(s, 'coredump').map((l) => l.trim()),
    profile: lines(s, 'profile').map((l) => l.trim()),
    modprobe: lines(s, 'modprobe').map((l) => l.trim()),
    mounts,
    keyUsers: [...new Set(lines(s, 'keyusers').map((l) => l.trim()))],
    os,
    loginDefs,
    coreLimits: lines(s, 'corelimits').map((l) => l.trim()),
    loginUser: o.loginUser,
    container: (lines(s, 'virt')[0] ?? 'none').trim() || 'none',
    sshd,
    // an older probe had no global section: then the user's settings stand for everyone's
    sshdGlobal: s.has('sshdglobal') ? settings('sshdglobal') : sshd,
    sshdValid: rc === 0,
    ...(rc === 127 ? { sshdError: 'no sshd' } : rc !== 0 ? { sshdError: sshdError || `sshd -t exited ${rc}` } : {}),
    supported,
    files,
    text,
    sysctl,
    packages,
    units,
    worldWritable: lines(s, 'worldwritable'),
    worldWritableDirs: lines(s, 'worldwritabledirs'),
    unowned: lines(s, 'unowned'),
    suid: lines(s, 'suid'),
    listening: lines(s, 'listening'),
    problems,
  };
}
