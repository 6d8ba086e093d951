import type { HostState } from '../hardening/types.ts';
import type { Finding } from './types.ts';

/**
 * Security checks of one host, pure over its gathered state: listening ports
 * against what the appliance opens there, set-id programs against Debian's own,
 * world-writable files. Vulnerable packages come from vulndb.ts.
 */
export interface ExpectedPorts {
  /** tcp ports that may listen on every address */
  tcp: number[];
  udp: number[];
}

/** what a node of this role opens: sshd, the k3s API and supervisor, etcd, kubelet, flannel, the pack registry */
export function expectedPorts(role: 'controller' | 'worker', o: { registryPort?: number; sshPort: number }): ExpectedPorts {
  const tcp = [o.sshPort, 10250, ...(role === 'controller' ? [6443, 6444, 9345, 2379, 2380, 10257, 10259] : []), ...(o.registryPort ? [o.registryPort] : [])];
  return { tcp, udp: [8472, 51820, 51821] };
}

/** set-id programs a Debian 12 server ships */
export const DEBIAN_SETID = new Set([
  '/usr/bin/chage',
  '/usr/bin/chfn',
  '/usr/bin/chsh',
  '/usr/bin/crontab',
  '/usr/bin/expiry',
  '/usr/bin/gpasswd',
  '/usr/bin/mount',
  '/usr/bin/newgrp',
  '/usr/bin/passwd',
  '/usr/bin/ssh-agent',
  '/usr/bin/su',
  '/usr/bin/sudo',
  '/usr/bin/umount',
  '/usr/bin/wall',
  '/usr/bin/write',
  '/usr/bin/fusermount3',
  '/usr/bin/pkexec',
  '/usr/bin/at',
  '/usr/sbin/unix_chkpwd',
  '/usr/lib/openssh/ssh-keysign',
  '/usr/lib/dbus-1.0/dbus-daemon-launch-helper',
  '/usr/lib/polkit-1/polkit-agent-helper-1',
  '/usr/sbin/pppd',
]);

const loopback = (addr: string) => /^(127\.|\[::1\]|::1|\[::ffff:127\.)/.test(addr);

export function portFindings(s: HostState, expected: ExpectedPorts): Finding[] {
  const out: Finding[] = [];
  for (const l of s.listening) {
    const [proto = '', addr = ''] = l.split(' ');
    const port = Number(addr.slice(addr.lastIndexOf(':') + 1));
    const check = `port.${proto}.${addr}`;
    if (loopback(addr)) out.push({ check, host: s.host, status: 'info', detail: `${proto} ${addr}: loopback only` });
    else if ((proto === 'tcp' ? expected.tcp : expected.udp).includes(port))
      out.push({ check, host: s.host, status: 'pass', detail: `${proto} ${addr}: expected` });
    else
      out.push({
        check,
        host: s.host,
        status: 'fail',
        title: 'a port the appliance does not open',
        detail: `${proto} ${addr} listens, and the appliance opens no such port here`,
      });
  }
  return out;
}

export function setidFindings(s: HostState): Finding[] {
  return s.suid.map((p) =>
    DEBIAN_SETID.has(p)
      ? { check: `setid.${p}`, host: s.host, status: 'pass' as const, detail: `${p}: a Debian set-id program` }
      : {
          check: `setid.${p}`,
          host: s.host,
          status: 'fail' as const,
          title: 'an unexpected set-user/group-id program',
          detail: `${p} is set-id and is not one Debian ships that way`,
        },
  );
}

export function worldWritableFindings(s: HostState): Finding[] {
  const files = s.worldWritable.map((p) => ({
    check: `world-writable.${p}`,
    host: s.host,
    status: 'fail' as const,
    title: 'a world-writable file',
    detail: `${p} is writable by every user`,
  }));
  const dirs = s.worldWritableDirs.map((p) => ({
    check: `world-writable.${p}/`,
    host: s.host,
    status: 'fail' as const,
    title: 'a world-writable directory without the sticky bit',
    detail: `${p}/ lets every user delete others' files`,
  }));
  if (files.length + dirs.length === 0) return [{ check: 'world-writable', host: s.host, status: 'pass', detail: 'no world-writable files' }];
  return [...files, ...dirs];
}
