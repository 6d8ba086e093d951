/**
 * OpenSSH to the lab's hosts: DIR/known_hosts (the keys pinned before boot) and DIR/ssh_config,
 * and the waits `up` ends with (every host answers SSH, then keeps time with the lab's NTP server).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PreparedHost } from './hosts.ts';
import { LabError, procAlive, procStart, shell, sleep } from './sys.ts';

export function sshConfigText(hosts: { name: string; address: string; behind?: string }[], keyPath: string, knownHosts: string): string {
  return hosts
    .map((h) =>
      [
        `Host ${h.name}`,
        `  HostName ${h.address}`,
        `  User root`,
        `  IdentityFile ${keyPath}`,
        `  IdentitiesOnly yes`,
        `  UserKnownHostsFile ${knownHosts}`,
        `  StrictHostKeyChecking yes`,
        `  BatchMode yes`,
        `  ConnectTimeout 5`,
        `  LogLevel ERROR`,
        ...(h.behind ? [`  ProxyJump ${h.behind}`] : []),
        '',
      ].join('\n'),
    )
    .join('\n');
}

/** Writes DIR/known_hosts and DIR/ssh_config; returns their paths. */
export function writeSshFiles(dir: string, hosts: PreparedHost[], keyPath: string): { knownHosts: string; sshConfig: string } {
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, hosts.map((h) => `${h.address} ${h.hostKeyLine}\n`).join(''));
  const sshConfig = join(dir, 'ssh_config');
  writeFileSync(sshConfig, sshConfigText(hosts, keyPath, knownHosts));
  return { knownHosts, sshConfig };
}

/** Runs a command on a lab host; true when it exits 0 within timeoutSec (+5 s). */
export async function sshRun(sshConfig: string, host: string, command: string, timeoutSec: number): Promise<boolean> {
  const r = await shell({
    nothrow: true,
    timeout: `${timeoutSec + 5}s`,
  })`ssh -F ${sshConfig} -o ${`ConnectTimeout=${Math.min(timeoutSec, 10)}`} ${host} ${command} </dev/null`;
  return r.ok;
}

/** Waits (90 s at most) until every host answers SSH; fails at once for a host whose nspawn is gone. */
export async function waitForSsh(sshConfig: string, hosts: (PreparedHost & { nspawnPid: number })[]): Promise<void> {
  const deadline = Date.now() + 90_000;
  await Promise.all(
    hosts.map(async (h) => {
      for (;;) {
        if (await sshRun(sshConfig, h.name, 'true', 5)) return;
        if (!procAlive(h.nspawnPid, procStart(h.nspawnPid) ?? '')) {
          throw new LabError(`${h.name}: systemd-nspawn exited; see ${join(h.hostDir, 'console.log')}`);
        }
        if (Date.now() > deadline) throw new LabError(`${h.name}: no SSH after 90 s; see ${join(h.hostDir, 'console.log')}`);
        await sleep(250);
      }
    }),
  );
}

/**
 * A datacenter host keeps time before anyone installs on it: waits for chrony's first sync (a few
 * seconds after boot) so a preflight run right away sees the lab as it will be. Returns the hosts
 * not synchronised after 30 s.
 */
export async function waitForTimeSync(sshConfig: string, hosts: { name: string }[]): Promise<string[]> {
  const synced = await Promise.all(hosts.map((h) => sshRun(sshConfig, h.name, 'chronyc waitsync 60 0 0 0.5 >/dev/null', 40)));
  return hosts.filter((_, i) => !synced[i]).map((h) => h.name);
}
