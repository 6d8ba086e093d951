/**
 * `scripts/lab up`: its steps in order, over one recorder (DIR/state.json), each resource recorded
 * before or as it is made, so a run killed at any point is cleared by the next `up` (or `down`).
 */
import { chmodSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { requireTools, raiseLimits } from './checks.ts';
import { machineSizing, palisadeYaml } from './config.ts';
import { clearPrevious } from './down.ts';
import { bootHost, etcHostsText, type PreparedHost, planHosts, prepareHost } from './hosts.ts';
import { ensureImage } from './image.ts';
import { recordInit } from './machines.ts';
import { attach, makeBridge } from './network.ts';
import { startNtp, startTang, tangThumbprints } from './services.ts';
import { claimSlot, type Net, net } from './slots.ts';
import { waitForSsh, waitForTimeSync, writeSshFiles } from './ssh.ts';
import { StateRecorder } from './state.ts';
import { elapsed, say, sh, writeAtomic } from './sys.ts';
import type { LabInfo, LabTang } from './types.ts';

export interface UpOptions {
  count: number;
  dir: string;
  diskDefault: number;
  diskPerHost: Map<string, number>;
  tpm: boolean;
  jump: boolean;
}

/** The files `up` writes in DIR (recorded, and removed by `down`). */
const LAB_FILES = ['id_ed25519', 'id_ed25519.pub', 'known_hosts', 'ssh_config', 'palisade.yaml', 'hosts', 'services', 'lab.json'];

/** `onStart` is called once the run has begun to make (and record) resources. */
export async function up(opts: UpOptions, onStart: () => void = () => {}): Promise<void> {
  await requireTools(opts.tpm);
  const dir = opts.dir;
  mkdirSync(dir, { recursive: true });
  const old = await clearPrevious(dir);

  raiseLimits();
  const rootfs = await ensureImage();
  say(`image ready (${elapsed()})`);

  const { slot, claim } = await claimSlot(dir, old?.slot);
  onStart();
  const rec = StateRecorder.create(dir, slot);
  rec.add({ kind: 'slot', slot, claim });
  const n = net(slot);

  const { keyPath, labPub } = await labKey(rec, dir, slot);
  await makeBridge(rec, n);

  const svcNs = n.ns('svc');
  await attach(rec, n, svcNs, n.link('svc'), n.services);
  const svcDir = join(dir, 'services');
  mkdirSync(svcDir, { recursive: true });
  await startTang(rec, n, svcNs, svcDir);
  startNtp(rec, n, svcNs, svcDir, rootfs);

  const plan = planHosts(n, dir, opts);
  const ctx = { rec, n, rootfs, svcNs, etcHosts: etcHostsText(plan), labPub };
  const prepared: PreparedHost[] = [];
  for (const h of plan) prepared.push(await prepareHost(ctx, h, prepared));
  const hosts = prepared.map((h) => ({ ...h, nspawnPid: bootHost(rec, rootfs, h) }));
  for (const h of hosts) await recordInit(rec, h.name, h.nspawnPid);

  const { knownHosts, sshConfig } = writeSshFiles(dir, hosts, keyPath);
  const tang = await tangThumbprints(n);
  await waitForSsh(sshConfig, hosts);
  say(`${hosts.length} host(s) answer SSH (${elapsed()})`);
  const unsynced = await waitForTimeSync(sshConfig, hosts);
  say(
    unsynced.length
      ? `not time-synchronised after 30 s: ${unsynced.join(', ')} (\`scripts/lab ssh HOST chronyc sources\`)`
      : `${hosts.length} host(s) synchronised to the lab NTP server (${elapsed()})`,
  );

  const info = labInfo({ dir, n, keyPath, knownHosts, sshConfig, svcNs, tang, hosts });
  await writeLabFiles(info, opts.diskDefault);
  for (const h of info.hosts) {
    say(
      `  ${h.name.padEnd(7)} ${h.address.padEnd(13)} ${h.role.padEnd(10)} ${h.hostKey}  disk ${h.loopDevice}${h.tpm ? ' tpm' : ''}${h.behind ? `  behind ${h.behind}` : ''}`,
    );
  }
  say(`  tang ${tang.map((t) => t.url).join(' ')}, ntp ${n.services}`);
  say(`up in ${elapsed()}: ${dir}/lab.json, ${dir}/palisade.yaml (scripts/lab ssh --dir ${dir} host1)`);
  process.stdout.write(`${join(dir, 'lab.json')}\n`);
}

/** The lab's own SSH key (DIR/id_ed25519), after recording every file `up` writes in DIR and clearing old ones. */
async function labKey(rec: StateRecorder, dir: string, slot: number): Promise<{ keyPath: string; labPub: string }> {
  for (const f of LAB_FILES) rec.add({ kind: 'path', path: join(dir, f) });
  for (const f of LAB_FILES) rmSync(join(dir, f), { recursive: true, force: true });
  const keyPath = join(dir, 'id_ed25519');
  await sh`ssh-keygen -q -t ed25519 -N ${''} -C ${`palisade-lab${slot}`} -f ${keyPath}`;
  chmodSync(keyPath, 0o600);
  return { keyPath, labPub: readFileSync(`${keyPath}.pub`, 'utf8').trim() };
}

function labInfo(p: {
  dir: string;
  n: Net;
  keyPath: string;
  knownHosts: string;
  sshConfig: string;
  svcNs: string;
  tang: LabTang[];
  hosts: PreparedHost[];
}): LabInfo {
  const { n } = p;
  return {
    dir: p.dir,
    slot: n.slot,
    subnet: n.subnet,
    bridge: n.bridge,
    gateway: n.gateway,
    keyPath: p.keyPath,
    configPath: join(p.dir, 'palisade.yaml'),
    knownHostsPath: p.knownHosts,
    sshConfigPath: p.sshConfig,
    services: { netns: p.svcNs, address: n.services, tang: p.tang, ntp: n.services },
    hosts: p.hosts.map((h) => ({
      name: h.name,
      address: h.address,
      port: 22,
      netns: h.netns,
      machine: h.machine,
      dataDisk: '/dev/vdb',
      loopDevice: h.loopDevice,
      diskBytes: h.diskBytes,
      tpm: h.tpm,
      hostKey: h.hostKey,
      role: h.role,
      ...(h.behind ? { behind: h.behind } : {}),
    })),
  };
}

/** DIR/palisade.yaml (sized for this machine), then DIR/lab.json: its presence says the lab is up. */
async function writeLabFiles(info: LabInfo, diskDefault: number): Promise<void> {
  const nproc = Number((await sh`nproc`).stdout.trim()) || 1;
  const memKiB = Number(/MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0);
  writeAtomic(info.configPath, palisadeYaml(info, { ...machineSizing(nproc, memKiB), diskBytes: diskDefault }), 0o644);
  writeAtomic(join(info.dir, 'lab.json'), `${JSON.stringify(info, null, 2)}\n`);
}
