/** Per-host checks of the machine itself: architecture, operating system, CPUs, memory, swap. */
import type { HostFacts } from '../../facts/types.ts';
import { MEMORY_TOLERANCE } from '../profiles.ts';
import { finding, GiB, gib, type HostCheck } from './finding.ts';

export const cpuCount: HostCheck = (c) => {
  const n = c.facts.cpu.threads;
  const need = c.sizing.cpus;
  if (n === undefined) return finding(c, 'cpu.count', 'CPUs', 'fail', 'unknown', `>= ${need} (${c.host.role})`, 'check /proc/cpuinfo on the host');
  return finding(
    c,
    'cpu.count',
    'CPUs',
    n >= need ? 'pass' : 'fail',
    `${n}`,
    `>= ${need} (${c.host.role}, ${c.config.sizing.profile})`,
    `give the host ${need} CPUs, or pick a smaller sizing.profile`,
  );
};

export const memoryTotal: HostCheck = (c) => {
  const n = c.facts.memory.totalBytes;
  const need = c.sizing.memoryGiB;
  const req = `>= ${need} GiB (${c.host.role}, ${c.config.sizing.profile}; MemTotal >= ${(need * MEMORY_TOLERANCE).toFixed(1)} GiB)`;
  if (n === undefined) return finding(c, 'memory.total', 'memory', 'fail', 'unknown', req, 'check /proc/meminfo on the host');
  return finding(
    c,
    'memory.total',
    'memory',
    n >= need * MEMORY_TOLERANCE * GiB ? 'pass' : 'fail',
    gib(n),
    req,
    `give the host ${need} GiB of memory, or pick a smaller sizing.profile`,
  );
};

export const swapOff: HostCheck = (c) => {
  const s = c.facts.memory.swapTotalBytes;
  if (s === undefined) return finding(c, 'swap.off', 'swap', 'warn', 'unknown (no SwapTotal in /proc/meminfo)', 'off', 'check `swapon --show` on the host');
  return finding(
    c,
    'swap.off',
    'swap',
    s === 0 ? 'pass' : 'fail',
    s === 0 ? 'off' : `${gib(s)} configured`,
    'off (the kubelet refuses swap)',
    'swapoff -a, and remove swap lines from /etc/fstab',
  );
};

export const archX86: HostCheck = (c) => {
  const a = c.facts.os.arch;
  return finding(
    c,
    'os.arch',
    'architecture',
    a === 'x86_64' ? 'pass' : 'fail',
    a ?? 'unknown',
    'x86_64',
    'use an x86_64 host: the bundle ships x86_64 binaries and images',
  );
};

const SUPPORTED = 'Debian 12, Ubuntu 22.04/24.04, RHEL 9 family (RHEL, Rocky, Alma, Oracle, CentOS Stream)';
export function isSupportedOs(os: HostFacts['os']): boolean {
  const id = os.id ?? '';
  const v = os.versionId ?? '';
  const major = v.split('.')[0];
  if (id === 'debian') return major === '12';
  if (id === 'ubuntu') return v === '22.04' || v === '24.04';
  const rhel = ['rhel', 'rocky', 'almalinux', 'ol', 'centos'].includes(id) || os.idLike.includes('rhel');
  return rhel && major === '9';
}
export const osSupported: HostCheck = (c) => {
  const o = c.facts.os;
  const measured = o.id ? `${o.prettyName ?? o.id} (${o.id} ${o.versionId ?? '?'})` : 'unknown (no /etc/os-release)';
  return finding(
    c,
    'os.supported',
    'operating system',
    isSupportedOs(o) ? 'pass' : 'fail',
    measured,
    SUPPORTED,
    'install a supported OS release (the bundle carries packages for those)',
  );
};
