/**
 * The lab's hosts, one step each: planned (name, address, role, disk), prepared (data disk on a
 * loop device, network, SSH host key pinned before boot, identity and access in its overlay, a
 * TPM), then booted as a systemd-nspawn machine. Every resource is recorded before or as it is made.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FQDN, roleOf } from './config.ts';
import { startMachine } from './machines.ts';
import { attach, attachBehind } from './network.ts';
import { ownerOf, putFile } from './overlay.ts';
import type { Net } from './slots.ts';
import type { StateRecorder } from './state.ts';
import { procStart, sh, startDetached } from './sys.ts';

const TPM_PORT = 2321;

export interface HostPlan {
  name: string;
  index: number;
  address: string;
  netns: string;
  machine: string;
  hostDir: string;
  diskBytes: number;
  tpm: boolean;
  role: 'controller' | 'worker';
  behind?: string;
}

/** A host once prepared: its disk, its pinned key. */
export interface PreparedHost extends HostPlan {
  loopDevice: string;
  hostKey: string;
  hostKeyLine: string;
}

/** host1..hostN (plus the one behind host1 with `jump`): 3 controllers from 3 hosts up, else 1. */
export function planHosts(
  n: Net,
  dir: string,
  opts: { count: number; jump: boolean; tpm: boolean; diskDefault: number; diskPerHost: Map<string, number> },
): HostPlan[] {
  const hosts: HostPlan[] = [];
  const total = opts.count + (opts.jump ? 1 : 0);
  for (let i = 1; i <= total; i++) {
    const name = `host${i}`;
    const behind = opts.jump && i === total ? 'host1' : undefined;
    hosts.push({
      name,
      index: i,
      address: n.hostAddr(i),
      netns: n.ns(name),
      machine: n.ns(name),
      hostDir: join(dir, 'hosts', name),
      diskBytes: opts.diskPerHost.get(name) ?? opts.diskDefault,
      tpm: opts.tpm,
      role: behind ? 'worker' : roleOf(i, opts.count),
      behind,
    });
  }
  return hosts;
}

/** Every host's /etc/hosts: the lab has no DNS server; the cluster's FQDN names the first controller. */
export function etcHostsText(hosts: HostPlan[]): string {
  return [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    ...hosts.map((h) => `${h.address}\t${h.name}`),
    `${hosts[0]!.address}\t${FQDN}`,
    '',
  ].join('\n');
}

export interface HostContext {
  rec: StateRecorder;
  n: Net;
  rootfs: string;
  svcNs: string;
  etcHosts: string;
  /** the lab's public key, for root's and ops's authorized_keys */
  labPub: string;
}

/** Everything a host needs before it boots; `prepared` holds the hosts prepared before it (its jump host). */
export async function prepareHost(ctx: HostContext, h: HostPlan, prepared: PreparedHost[]): Promise<PreparedHost> {
  const { rec, n } = ctx;
  mkdirSync(h.hostDir, { recursive: true });
  const upper = join(h.hostDir, 'upper');
  mkdirSync(upper, { recursive: true });

  // data disk
  const img = join(h.hostDir, 'disk.img');
  rec.add({ kind: 'loop', file: img });
  await sh`truncate -s ${String(h.diskBytes)} ${img}`;
  const loopDevice = (await sh`losetup --find --show ${img}`).stdout.trim();
  rec.update((r) => r.kind === 'loop' && r.file === img, { device: loopDevice });

  // network
  if (h.behind) await attachBehind(rec, n, h, prepared.find((x) => x.name === h.behind)!, ctx.svcNs);
  else await attach(rec, n, h.netns, n.link(`h${h.index}`), h.address);

  // SSH host key, generated here so it is pinned before the host boots
  const hk = join(h.hostDir, 'ssh_host_ed25519_key');
  await sh`ssh-keygen -q -t ed25519 -N ${''} -C ${`root@${h.name}`} -f ${hk}`;
  const hostKey = (await sh`ssh-keygen -l -E sha256 -f ${`${hk}.pub`}`).stdout.split(' ')[1]!;
  const hostKeyLine = readFileSync(`${hk}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');

  // identity and access, written into the overlay
  const put = (rel: string, content: string, mode?: number, uid?: number, gid?: number) => putFile(ctx.rootfs, upper, rel, content, mode, uid, gid);
  put('etc/hostname', `${h.name}\n`);
  put('etc/machine-id', `${randomBytes(16).toString('hex')}\n`, 0o444);
  put('etc/hosts', ctx.etcHosts);
  put('etc/resolv.conf', `# the lab has no DNS server; names are in /etc/hosts\nnameserver ${n.services}\noptions timeout:1 attempts:1\n`);
  put('etc/ssh/ssh_host_ed25519_key', readFileSync(hk, 'utf8'), 0o600);
  put('etc/ssh/ssh_host_ed25519_key.pub', readFileSync(`${hk}.pub`, 'utf8'));
  put('root/.ssh/authorized_keys', `${ctx.labPub}\n`, 0o600);
  const ops = ownerOf(ctx.rootfs, 'home/ops');
  put('home/ops/.ssh/authorized_keys', `${ctx.labPub}\n`, 0o600, ops.uid, ops.gid);
  put(
    'etc/chrony/chrony.conf',
    `# lab NTP server (services namespace)\nserver ${n.services} iburst minpoll 4 maxpoll 6\ndriftfile /var/lib/chrony/chrony.drift\nmakestep 1 3\n`,
  );
  put('etc/environment', h.tpm ? `TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=${TPM_PORT}"\n` : '');

  if (h.tpm) startTpm(rec, h);
  return { ...h, loopDevice, hostKey, hostKeyLine };
}

/** A swtpm on the host's own loopback (inside its namespace: no other host reaches it). */
function startTpm(rec: StateRecorder, h: HostPlan): void {
  const tpmDir = join(h.hostDir, 'tpm');
  mkdirSync(tpmDir, { recursive: true });
  // biome-ignore format: swtpm's options in pairs
  const argv = [
    'ip', 'netns', 'exec', h.netns, 'swtpm', 'socket', '--tpm2', '--tpmstate', `dir=${tpmDir}`,
    '--server', `type=tcp,port=${TPM_PORT},bindaddr=127.0.0.1`, '--ctrl', `type=tcp,port=${TPM_PORT + 1},bindaddr=127.0.0.1`,
    '--flags', 'not-need-init,startup-clear',
  ];
  const pid = startDetached(argv, join(h.hostDir, 'swtpm.log'));
  rec.add({ kind: 'process', what: `${h.name} swtpm`, pid, start: procStart(pid) ?? '' });
}

/** Boots a prepared host: its overlay over the image, its namespace, its data disk as /dev/vdb. Returns nspawn's PID. */
export function bootHost(rec: StateRecorder, rootfs: string, h: PreparedHost): number {
  // biome-ignore format: nspawn's options by topic
  const args = [
    '--boot', '--register=no', '--keep-unit', `--machine=${h.machine}`, `--hostname=${h.name}`,
    `--directory=${rootfs}`, `--overlay=${rootfs}:${join(h.hostDir, 'upper')}:/`,
    `--network-namespace-path=/run/netns/${h.netns}`,
    `--bind=${h.loopDevice}:/dev/vdb`, `--property=DeviceAllow=${h.loopDevice} rwm`,
    '--console=read-only', '--resolv-conf=off', '--link-journal=no', '--timezone=off',
  ];
  return startMachine(rec, h.machine, `${h.name} nspawn`, args, join(h.hostDir, 'console.log'));
}
