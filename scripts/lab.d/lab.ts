/**
 * scripts/lab: rehearsal hosts on this machine (see docs/ARCHITECTURE.md, "The lab").
 *
 *   scripts/lab up N [--dir DIR] [--disk-size SIZE | --disk-size hostK=SIZE]... [--tpm] [--jump]
 *   scripts/lab down [--dir DIR]
 *   scripts/lab status [--dir DIR] [--json]
 *   scripts/lab ssh [--dir DIR] HOST [COMMAND...]
 *   scripts/lab prune-images
 *
 * Each host is a systemd-nspawn machine booting the cached Debian 12 image (images/host-os/)
 * through an overlay (DIR/hosts/NAME/upper), in its own network namespace on a bridge in
 * 10.231.0.0/24. Every resource is recorded in DIR/state.json before or as it is made;
 * `down` (and `up`, for a killed run's leftovers) removes exactly those.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { acquireFileLock, isStale, readLockOwner } from '../../installer/core/lock.ts';
import { advertisementSigningKeys, jwkThumbprint } from '../../installer/encryption/jwk.ts';
import { FQDN, machineSizing, palisadeYaml, roleOf } from './config.ts';
import { loopsOf, readState, StateRecorder, statePath, teardown } from './state.ts';
import { childrenOf, LabError, parseSize, procAlive, procStart, readJson, run, sleep, startDetached, tryRun, writeAtomic } from './sys.ts';
import type { LabHost, LabInfo, LabState } from './types.ts';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const CACHE = process.env.PALISADE_LAB_CACHE ?? '/var/cache/palisade-lab';
const CLAIMS = '/run/palisade-lab';
const SLOTS = 8; // 10.231.0.0/24 in /27 slots
const TPM_PORT = 2321;
const TANG_PORTS = [7500, 7501];

const t0 = Date.now();
const say = (s: string) => process.stderr.write(`lab: ${s}\n`);
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

// ---------------------------------------------------------------- arguments

interface UpOptions {
  count: number;
  dir: string;
  diskDefault: number;
  diskPerHost: Map<string, number>;
  tpm: boolean;
  jump: boolean;
}

function labDir(p: string): string {
  const dir = resolve(p);
  // (paths go into socat addresses and ssh_config lines: no spaces, ':', ',' or '!')
  if (!/^[A-Za-z0-9._/+@~=-]+$/.test(dir)) throw new LabError(`lab dir "${dir}": use only letters, digits and . _ / + @ ~ = - in its path`);
  return dir;
}

// ---------------------------------------------------------------- image

function imageHash(): string {
  const h = createHash('sha256');
  for (const f of ['images/host-os/packages.txt', 'images/host-os/setup.sh', 'scripts/lab.d/build-image.sh']) {
    h.update(f).update('\0').update(readFileSync(join(repo, f))).update('\0');
  }
  return h.digest('hex').slice(0, 16);
}

function ensureImage(): string {
  const hash = imageHash();
  const rootfs = join(CACHE, `host-os-${hash}`, 'rootfs');
  if (existsSync(join(CACHE, `host-os-${hash}`, 'complete'))) return rootfs;
  const r = run('bash', [join(here, 'build-image.sh'), CACHE, hash], { check: false, timeoutMs: 20 * 60_000 });
  process.stderr.write(r.stderr);
  if (r.code !== 0) throw new LabError(`building the host image failed (see above)`);
  return rootfs;
}

function requireTools(opts: UpOptions): void {
  const need = ['systemd-nspawn', 'debootstrap', 'losetup', 'ip', 'ssh', 'ssh-keygen', 'socat', 'truncate'];
  if (opts.tpm) need.push('swtpm');
  const missing = need.filter((t) => !tryRun('sh', ['-c', `command -v ${t}`]));
  if (!existsSync('/usr/libexec/tangd')) missing.push('tang (/usr/libexec/tangd)');
  if (missing.length) throw new LabError(`missing tools: ${missing.join(', ')} — run \`bash scripts/setup\` first`);
  if (process.getuid?.() !== 0) throw new LabError('the lab needs root (network namespaces, loop devices, nspawn)');
}

/**
 * Every machine's systemd takes several inotify instances, all counted against root on this
 * machine: the default 128 runs out at about four labs ("Failed to allocate manager object: Too
 * many open files"). Raised, never lowered; a machine-wide setting, not a lab resource.
 */
function raiseLimits(): void {
  const want: [string, number][] = [
    ['fs/inotify/max_user_instances', 8192],
    ['fs/inotify/max_user_watches', 524288],
  ];
  for (const [key, min] of want) {
    const path = `/proc/sys/${key}`;
    try {
      if (Number(readFileSync(path, 'utf8').trim()) < min) writeFileSync(path, `${min}\n`);
    } catch (e) {
      say(`cannot raise ${key.replaceAll('/', '.')} to ${min}: ${(e as Error).message}`);
    }
  }
}

// ---------------------------------------------------------------- slots and names

interface Net {
  slot: number;
  base: number;
  subnet: string;
  gateway: string;
  services: string;
  bridge: string;
  hostAddr: (i: number) => string;
  ns: (name: string) => string;
  link: (name: string) => string;
}

function net(slot: number): Net {
  const base = slot * 32;
  const a = (n: number) => `10.231.0.${base + n}`;
  return {
    slot,
    base,
    subnet: `${a(0)}/27`,
    gateway: a(1),
    services: a(2),
    bridge: `plab${slot}-br`,
    hostAddr: (i) => a(9 + i),
    ns: (name) => `palisade-lab${slot}-${name}`,
    link: (name) => `plab${slot}-${name}`.slice(0, 15),
  };
}

/**
 * Claims a /27 slot: /run/palisade-lab/slot-N (mkdir is the lock) holds the owning lab dir. A claim
 * its owner does not record is stale. When no slot is free, a lab whose every process is gone (a
 * killed run nobody cleared, e.g. after its session ended) is taken down by its own records.
 */
function claimSlot(dir: string, prefer?: number): { slot: number; claim: string } {
  mkdirSync(CLAIMS, { recursive: true });
  // PALISADE_LAB_SLOTS="5,6" limits the slots this lab may take (tests of slot exhaustion)
  const allowed = process.env.PALISADE_LAB_SLOTS ? process.env.PALISADE_LAB_SLOTS.split(',').map(Number) : Array.from({ length: SLOTS }, (_, i) => i);
  const order = [...(prefer !== undefined && allowed.includes(prefer) ? [prefer] : []), ...allowed.filter((i) => i !== prefer && i >= 0 && i < SLOTS)];
  const claimPath = (slot: number) => join(CLAIMS, `slot-${slot}`);
  const take = (slot: number): boolean => {
    try {
      mkdirSync(claimPath(slot));
    } catch {
      return false;
    }
    writeFileSync(join(claimPath(slot), 'owner'), `${dir}\n`);
    return true;
  };
  const ownerOfClaim = (slot: number): { owner: string; state?: LabState } => {
    let owner = '';
    try {
      owner = readFileSync(join(claimPath(slot), 'owner'), 'utf8').trim();
    } catch {}
    const state = owner ? readJson<LabState>(statePath(owner)) : undefined;
    const recorded = state?.resources.some((r) => r.kind === 'slot' && r.claim === claimPath(slot));
    return { owner, state: recorded ? state : undefined };
  };
  const bridgeUp = (slot: number) => existsSync(`/sys/class/net/plab${slot}-br`);

  for (const slot of order) {
    if (!existsSync(claimPath(slot))) {
      if (!bridgeUp(slot) && take(slot)) return { slot, claim: claimPath(slot) };
      continue;
    }
    const { owner, state } = ownerOfClaim(slot);
    if (state && owner !== dir) continue;
    if (bridgeUp(slot)) continue; // a stale claim, but something made that bridge: leave the slot alone
    rmSync(claimPath(slot), { recursive: true, force: true });
    if (take(slot)) return { slot, claim: claimPath(slot) };
  }

  for (const slot of order) {
    const { owner, state } = ownerOfClaim(slot);
    if (!state || labAlive(owner, state)) continue;
    say(`no free slot: the lab in ${owner} (slot ${slot}) has no process left; taking it down by its records`);
    const problems = teardown(state, (m) => say(`  ${m}`));
    if (problems.length) {
      say(`  could not clear it: ${problems.join('; ')}`);
      continue;
    }
    rmSync(join(owner, 'lab.json'), { force: true });
    rmSync(statePath(owner), { force: true });
    rmSync(claimPath(slot), { recursive: true, force: true });
    if (!bridgeUp(slot) && take(slot)) return { slot, claim: claimPath(slot) };
  }
  throw new LabError(`no free lab slot: all ${allowed.length} are taken by running labs (/run/palisade-lab/slot-N/owner names each lab dir: scripts/lab down --dir DIR)`);
}

/** A lab is alive while any process it recorded runs, or a scripts/lab holds its lock. */
function labAlive(dir: string, state: LabState): boolean {
  if (state.resources.some((r) => r.kind === 'process' && procAlive(r.pid, r.start))) return true;
  const holder = readLockOwner(join(dir, 'lock'));
  if (holder && !isStale(holder)) return true;
  return false;
}

// ---------------------------------------------------------------- cgroups

/**
 * A machine's own cgroup in each hierarchy nspawn uses: cgroup v2 alone (/sys/fs/cgroup), or the
 * hybrid layout (name=systemd at /sys/fs/cgroup/systemd, v2 at /sys/fs/cgroup/unified).
 */
function machineCgroups(machine: string): string[] {
  const roots = existsSync('/sys/fs/cgroup/cgroup.procs') && !existsSync('/sys/fs/cgroup/systemd')
    ? ['/sys/fs/cgroup']
    : ['/sys/fs/cgroup/systemd', '/sys/fs/cgroup/unified'].filter((r) => existsSync(join(r, 'cgroup.procs')));
  return roots.map((r) => join(r, 'palisade-lab', machine));
}

// ---------------------------------------------------------------- files inside a host's overlay

/** Makes `rel` (a directory) in the overlay upper dir with the owner and mode it has in the base image. */
function mkdirLike(lower: string, upper: string, rel: string): void {
  const parts = rel.split('/').filter(Boolean);
  let cur = '';
  for (const p of parts) {
    cur = `${cur}/${p}`;
    const up = join(upper, cur);
    if (existsSync(up)) continue;
    mkdirSync(up);
    const lo = join(lower, cur);
    if (existsSync(lo)) {
      const st = statSync(lo);
      chownSync(up, st.uid, st.gid);
      chmodSync(up, st.mode & 0o7777);
    }
  }
}

function putFile(lower: string, upper: string, rel: string, content: string, mode = 0o644, uid = 0, gid = 0): void {
  mkdirLike(lower, upper, dirname(rel));
  const p = join(upper, rel);
  writeFileSync(p, content, { mode });
  chmodSync(p, mode);
  chownSync(p, uid, gid);
}

function ownerOf(lower: string, rel: string): { uid: number; gid: number } {
  const st = lstatSync(join(lower, rel));
  return { uid: st.uid, gid: st.gid };
}

// ---------------------------------------------------------------- up

interface HostPlan {
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
  hostKey?: string;
  hostKeyLine?: string;
  loopDevice?: string;
  nspawnPid?: number;
}

async function up(opts: UpOptions): Promise<void> {
  requireTools(opts);
  const dir = opts.dir;
  mkdirSync(dir, { recursive: true });

  // A killed run leaves its record: clear exactly what it made first.
  const old = readState(dir);
  if (old) {
    say(`clearing the previous lab in ${dir}`);
    const problems = teardown(old, (s) => say(`  ${s}`));
    if (problems.length) throw new LabError(`could not clear the previous lab: ${problems.join('; ')}`);
    rmSync(statePath(dir), { force: true });
  }
  rmSync(join(dir, 'lab.json'), { force: true });

  raiseLimits();
  const rootfs = ensureImage();
  say(`image ready (${elapsed()})`);

  const { slot, claim } = claimSlot(dir, old?.slot);
  started = true;
  const rec = StateRecorder.create(dir, slot);
  rec.add({ kind: 'slot', slot, claim });
  const n = net(slot);

  // files in DIR
  const keyPath = join(dir, 'id_ed25519');
  const files = ['id_ed25519', 'id_ed25519.pub', 'known_hosts', 'ssh_config', 'palisade.yaml', 'hosts', 'services', 'lab.json'];
  for (const f of files) rec.add({ kind: 'path', path: join(dir, f) });
  for (const f of files) rmSync(join(dir, f), { recursive: true, force: true });
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `palisade-lab${slot}`, '-f', keyPath]);
  chmodSync(keyPath, 0o600);
  const labPub = readFileSync(`${keyPath}.pub`, 'utf8').trim();

  // bridge (admin side B+1)
  rec.add({ kind: 'bridge', name: n.bridge });
  run('ip', ['link', 'add', n.bridge, 'type', 'bridge']);
  run('ip', ['addr', 'add', `${n.gateway}/27`, 'dev', n.bridge]);
  run('ip', ['link', 'set', n.bridge, 'up']);

  const attach = (ns: string, veth: string, addr: string) => {
    rec.add({ kind: 'netns', name: ns });
    run('ip', ['netns', 'add', ns]);
    rec.add({ kind: 'veth', name: veth });
    run('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    run('ip', ['link', 'set', veth, 'master', n.bridge, 'up']);
    run('ip', ['-n', ns, 'addr', 'add', `${addr}/27`, 'dev', 'eth0']);
    run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  };

  // services namespace: two Tang servers
  const svcNs = n.ns('svc');
  attach(svcNs, n.link('svc'), n.services);
  const svcDir = join(dir, 'services');
  mkdirSync(svcDir, { recursive: true });
  TANG_PORTS.forEach((port, i) => {
    const db = join(svcDir, `tang${i}`);
    mkdirSync(db, { recursive: true });
    run('/usr/libexec/tangd-keygen', [db]);
    const pid = startDetached('ip', ['netns', 'exec', svcNs, 'socat', `TCP-LISTEN:${port},bind=${n.services},fork,reuseaddr`, `EXEC:/usr/libexec/tangd ${db}`], join(svcDir, `tang${i}.log`));
    rec.add({ kind: 'process', what: `tang${i}`, pid, start: procStart(pid) ?? '' });
  });

  // NTP: chronyd from the host image, serving the lab from the services namespace (no clock control)
  const ntpConf = join(svcDir, 'chrony.conf');
  writeFileSync(ntpConf, `# lab NTP server: serves this machine's clock\nbindaddress ${n.services}\nallow 10.231.0.0/24\nlocal stratum 8\ncmdport 0\ndriftfile /var/lib/chrony/drift\npidfile /run/chrony/chronyd.pid\n`);
  {
    const machine = n.ns('ntp');
    const procsFiles = machineCgroups(machine).map((cg) => {
      rec.add({ kind: 'cgroup', path: cg });
      mkdirSync(cg, { recursive: true });
      return join(cg, 'cgroup.procs');
    });
    const args = [
      '--register=no', '--keep-unit', '--quiet', `--machine=${machine}`, `--directory=${rootfs}`, '--volatile=overlay',
      `--network-namespace-path=/run/netns/${svcNs}`, `--bind-ro=${ntpConf}:/etc/chrony/lab-server.conf`,
      '--console=pipe', '--resolv-conf=off', '--link-journal=no', '--timezone=off',
      '/usr/sbin/chronyd', '-d', '-x', '-f', '/etc/chrony/lab-server.conf',
    ];
    const pid = startDetached(join(here, 'in-cgroup.sh'), [procsFiles.join(','), 'systemd-nspawn', ...args], join(svcDir, 'ntp.log'));
    rec.add({ kind: 'process', what: 'ntp', pid, start: procStart(pid) ?? '' });
  }

  // hosts
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

  const etcHosts = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', ...hosts.map((h) => `${h.address}\t${h.name}`), `${hosts[0]!.address}\t${FQDN}`, ''].join('\n');

  for (const h of hosts) {
    mkdirSync(h.hostDir, { recursive: true });
    const upper = join(h.hostDir, 'upper');
    mkdirSync(upper, { recursive: true });

    // data disk
    const img = join(h.hostDir, 'disk.img');
    rec.add({ kind: 'loop', file: img });
    run('truncate', ['-s', String(h.diskBytes), img]);
    h.loopDevice = run('losetup', ['--find', '--show', img]).stdout.trim();
    rec.update((r) => r.kind === 'loop' && r.file === img, { device: h.loopDevice });

    // network
    if (h.behind) {
      const jump = hosts.find((x) => x.name === h.behind)!;
      rec.add({ kind: 'netns', name: h.netns });
      run('ip', ['netns', 'add', h.netns]);
      // a veth pair between the jump host's namespace and this one: the admin side has no path here
      run('ip', ['-n', jump.netns, 'link', 'add', `jump-${h.name}`.slice(0, 15), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.netns]);
      run('ip', ['-n', jump.netns, 'link', 'set', `jump-${h.name}`.slice(0, 15), 'up']);
      run('ip', ['-n', jump.netns, 'route', 'add', `${h.address}/32`, 'dev', `jump-${h.name}`.slice(0, 15), 'src', jump.address]);
      run('ip', ['netns', 'exec', jump.netns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
      run('ip', ['-n', h.netns, 'addr', 'add', `${h.address}/32`, 'dev', 'eth0']);
      run('ip', ['-n', h.netns, 'link', 'set', 'eth0', 'up']);
      run('ip', ['-n', h.netns, 'link', 'set', 'lo', 'up']);
      run('ip', ['-n', h.netns, 'route', 'add', `${jump.address}/32`, 'dev', 'eth0']);
      // the lab's services (Tang, NTP) through the jump host, as a routed site would have it
      run('ip', ['-n', h.netns, 'route', 'add', n.subnet, 'via', jump.address, 'dev', 'eth0']);
      run('ip', ['-n', svcNs, 'route', 'add', `${h.address}/32`, 'via', jump.address]);
    } else {
      attach(h.netns, n.link(`h${h.index}`), h.address);
    }

    // SSH host key, generated here so it is pinned before the host boots
    const hk = join(h.hostDir, 'ssh_host_ed25519_key');
    run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `root@${h.name}`, '-f', hk]);
    h.hostKey = run('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${hk}.pub`]).stdout.split(' ')[1]!;
    h.hostKeyLine = readFileSync(`${hk}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');

    // identity and access, written into the overlay
    const put = (rel: string, content: string, mode?: number, uid?: number, gid?: number) => putFile(rootfs, upper, rel, content, mode, uid, gid);
    put('etc/hostname', `${h.name}\n`);
    put('etc/machine-id', `${randomBytes(16).toString('hex')}\n`, 0o444);
    put('etc/hosts', etcHosts);
    put('etc/resolv.conf', `# the lab has no DNS server; names are in /etc/hosts\nnameserver ${n.services}\noptions timeout:1 attempts:1\n`);
    put('etc/ssh/ssh_host_ed25519_key', readFileSync(hk, 'utf8'), 0o600);
    put('etc/ssh/ssh_host_ed25519_key.pub', readFileSync(`${hk}.pub`, 'utf8'));
    put('root/.ssh/authorized_keys', `${labPub}\n`, 0o600);
    const ops = ownerOf(rootfs, 'home/ops');
    put('home/ops/.ssh/authorized_keys', `${labPub}\n`, 0o600, ops.uid, ops.gid);
    put('etc/chrony/chrony.conf', `# lab NTP server (services namespace)\nserver ${n.services} iburst minpoll 4 maxpoll 6\ndriftfile /var/lib/chrony/chrony.drift\nmakestep 1 3\n`);
    put('etc/environment', h.tpm ? `TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=${TPM_PORT}"\n` : '');

    // TPM: a swtpm on the host's own loopback (inside its namespace: no other host reaches it)
    if (h.tpm) {
      const tpmDir = join(h.hostDir, 'tpm');
      mkdirSync(tpmDir, { recursive: true });
      const pid = startDetached(
        'ip',
        ['netns', 'exec', h.netns, 'swtpm', 'socket', '--tpm2', '--tpmstate', `dir=${tpmDir}`, '--server', `type=tcp,port=${TPM_PORT},bindaddr=127.0.0.1`, '--ctrl', `type=tcp,port=${TPM_PORT + 1},bindaddr=127.0.0.1`, '--flags', 'not-need-init,startup-clear'],
        join(h.hostDir, 'swtpm.log'),
      );
      rec.add({ kind: 'process', what: `${h.name} swtpm`, pid, start: procStart(pid) ?? '' });
    }
  }

  // boot them all
  for (const h of hosts) {
    const args = [
      '--boot', '--register=no', '--keep-unit', `--machine=${h.machine}`, `--hostname=${h.name}`,
      `--directory=${rootfs}`, `--overlay=${rootfs}:${join(h.hostDir, 'upper')}:/`,
      `--network-namespace-path=/run/netns/${h.netns}`,
      `--bind=${h.loopDevice}:/dev/vdb`, `--property=DeviceAllow=${h.loopDevice} rwm`,
      '--console=read-only', '--resolv-conf=off', '--link-journal=no', '--timezone=off',
    ];
    const procsFiles = machineCgroups(h.machine).map((cg) => {
      rec.add({ kind: 'cgroup', path: cg });
      mkdirSync(cg, { recursive: true });
      return join(cg, 'cgroup.procs');
    });
    const pid = startDetached(join(here, 'in-cgroup.sh'), [procsFiles.join(','), 'systemd-nspawn', ...args], join(h.hostDir, 'console.log'));
    h.nspawnPid = pid;
    rec.add({ kind: 'process', what: `${h.name} nspawn`, pid, start: procStart(pid) ?? '' });
  }

  // the machines' init processes, so a lab whose nspawn dies still stops cleanly
  for (const h of hosts) {
    for (let i = 0; i < 50; i++) {
      const kids = childrenOf(h.nspawnPid!);
      if (kids.length) {
        for (const k of kids) rec.add({ kind: 'process', what: `${h.name} init`, pid: k, start: procStart(k) ?? '' });
        break;
      }
      await sleep(20);
    }
  }

  // ssh files
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, hosts.map((h) => `${h.address} ${h.hostKeyLine}\n`).join(''));
  const sshConfig = join(dir, 'ssh_config');
  writeFileSync(sshConfig, sshConfigText(hosts, keyPath, knownHosts));

  // Tang thumbprints, from what each server advertises (as tang-show-keys does)
  const tang = await Promise.all(
    TANG_PORTS.map(async (port) => {
      const url = `http://${n.services}:${port}`;
      const adv = await fetchRetry(`${url}/adv`, 10_000);
      const keys = advertisementSigningKeys(adv);
      if (!keys.length) throw new LabError(`Tang at ${url} advertises no signing key`);
      return { url, thumbprint: jwkThumbprint(keys[0]!) };
    }),
  );

  // wait for SSH everywhere
  const deadline = Date.now() + 90_000;
  await Promise.all(
    hosts.map(async (h) => {
      for (;;) {
        if (sshOk(sshConfig, h.name, 5)) return;
        if (!procAlive(h.nspawnPid!, procStart(h.nspawnPid!) ?? '')) {
          throw new LabError(`${h.name}: systemd-nspawn exited; see ${join(h.hostDir, 'console.log')}`);
        }
        if (Date.now() > deadline) throw new LabError(`${h.name}: no SSH after 90 s; see ${join(h.hostDir, 'console.log')}`);
        await sleep(250);
      }
    }),
  );
  say(`${hosts.length} host(s) answer SSH (${elapsed()})`);

  // a datacenter host keeps time before anyone installs on it: wait for chrony's first
  // sync (a few seconds after boot) so a preflight run right away sees the lab as it will be
  const unsynced = (
    await Promise.all(hosts.map(async (h) => ((await sshRunAsync(sshConfig, h.name, 'chronyc waitsync 60 0 0 0.5 >/dev/null', 40)) ? undefined : h.name)))
  ).filter((x): x is string => x !== undefined);
  say(unsynced.length ? `not time-synchronised after 30 s: ${unsynced.join(', ')} (\`scripts/lab ssh HOST chronyc sources\`)` : `${hosts.length} host(s) synchronised to the lab NTP server (${elapsed()})`);

  const info: LabInfo = {
    dir,
    slot,
    subnet: n.subnet,
    bridge: n.bridge,
    gateway: n.gateway,
    keyPath,
    configPath: join(dir, 'palisade.yaml'),
    knownHostsPath: knownHosts,
    sshConfigPath: sshConfig,
    services: { netns: svcNs, address: n.services, tang, ntp: n.services },
    hosts: hosts.map(
      (h): LabHost => ({
        name: h.name,
        address: h.address,
        port: 22,
        netns: h.netns,
        machine: h.machine,
        dataDisk: '/dev/vdb',
        loopDevice: h.loopDevice!,
        diskBytes: h.diskBytes,
        tpm: h.tpm,
        hostKey: h.hostKey!,
        role: h.role,
        ...(h.behind ? { behind: h.behind } : {}),
      }),
    ),
  };
  const sizing = machineSizing(Number(run('nproc', []).stdout.trim()) || 1, Number(/MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0));
  writeAtomic(info.configPath, palisadeYaml(info, { ...sizing, diskBytes: opts.diskDefault }), 0o644);
  writeAtomic(join(dir, 'lab.json'), `${JSON.stringify(info, null, 2)}\n`);
  for (const h of info.hosts) {
    say(`  ${h.name.padEnd(7)} ${h.address.padEnd(13)} ${h.role.padEnd(10)} ${h.hostKey}  disk ${h.loopDevice}${h.tpm ? ' tpm' : ''}${h.behind ? `  behind ${h.behind}` : ''}`);
  }
  say(`  tang ${tang.map((t) => t.url).join(' ')}, ntp ${n.services}`);
  say(`up in ${elapsed()}: ${dir}/lab.json, ${dir}/palisade.yaml (scripts/lab ssh --dir ${dir} host1)`);
  process.stdout.write(`${join(dir, 'lab.json')}\n`);
}

async function fetchRetry(url: string, ms: number): Promise<string> {
  const until = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (r.ok) return await r.text();
      last = new Error(`HTTP ${r.status}`);
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw new LabError(`${url} did not answer: ${String((last as Error)?.message ?? last)}`);
    await sleep(100);
  }
}

function sshConfigText(hosts: HostPlan[], keyPath: string, knownHosts: string): string {
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

function sshOk(sshConfig: string, host: string, timeoutSec: number): boolean {
  return run('ssh', ['-F', sshConfig, '-o', `ConnectTimeout=${timeoutSec}`, host, 'true'], { check: false, timeoutMs: (timeoutSec + 5) * 1000 }).code === 0;
}

function sshOkAsync(sshConfig: string, host: string, timeoutSec: number): Promise<boolean> {
  return sshRunAsync(sshConfig, host, 'true', timeoutSec);
}

/** Run a command on a lab host; true when it exits 0 within timeoutSec (+5 s). */
function sshRunAsync(sshConfig: string, host: string, command: string, timeoutSec: number): Promise<boolean> {
  return new Promise((res) => {
    const c = spawn('ssh', ['-F', sshConfig, '-o', `ConnectTimeout=${Math.min(timeoutSec, 10)}`, host, command], { stdio: 'ignore', timeout: (timeoutSec + 5) * 1000 });
    c.on('error', () => res(false));
    c.on('close', (code) => res(code === 0));
  });
}


// ---------------------------------------------------------------- down / status

function down(dir: string): void {
  const state = readState(dir);
  if (!state) {
    say(`nothing to take down in ${dir} (no state.json)`);
    return;
  }
  rmSync(join(dir, 'lab.json'), { force: true });
  const problems = teardown(state, (s) => say(`  ${s}`));
  if (problems.length) throw new LabError(`down left things behind: ${problems.join('; ')}`);
  rmSync(statePath(dir), { force: true });
  say(`down in ${elapsed()}`);
}

async function status(dir: string, json: boolean): Promise<void> {
  const state = readState(dir);
  const info = readJson<LabInfo>(join(dir, 'lab.json'));
  if (!state) {
    if (json) process.stdout.write(`${JSON.stringify({ dir, up: false, hosts: [] })}\n`);
    else process.stdout.write(`no lab in ${dir}\n`);
    return;
  }
  const procs = state.resources.filter((r) => r.kind === 'process') as { what: string; pid: number; start: string }[];
  const alive = (what: string) => procs.some((p) => p.what === what && procAlive(p.pid, p.start));
  const reach = await Promise.all((info?.hosts ?? []).map((h) => sshOkAsync(info!.sshConfigPath, h.name, 3)));
  const hosts = (info?.hosts ?? []).map((h, i) => ({
    name: h.name,
    address: h.address,
    role: h.role,
    behind: h.behind,
    running: alive(`${h.name} nspawn`),
    ssh: reach[i]!,
    loopDevice: h.loopDevice,
    loopAttached: loopsOf(join(dir, 'hosts', h.name, 'disk.img')).includes(h.loopDevice),
    tpm: h.tpm ? alive(`${h.name} swtpm`) : undefined,
  }));
  const tang = (info?.services.tang ?? []).map((t, i) => ({ url: t.url, running: alive(`tang${i}`) }));
  const ntp = info?.services.ntp ? { address: info.services.ntp, running: alive('ntp') } : undefined;
  const up = !!info && hosts.every((h) => h.running && h.ssh);
  if (json) {
    process.stdout.write(`${JSON.stringify({ dir, up, slot: state.slot, subnet: info?.subnet, hosts, tang, ntp }, null, 2)}\n`);
    return;
  }
  process.stdout.write(`lab ${dir}: ${info ? (up ? 'up' : 'DEGRADED') : 'incomplete (a run was stopped halfway; `lab up` or `lab down` clears it)'}, slot ${state.slot}${info ? `, ${info.subnet}` : ''}\n`);
  for (const h of hosts) {
    process.stdout.write(
      `  ${h.name.padEnd(7)} ${h.address.padEnd(13)} ${h.role.padEnd(10)} ${h.running ? 'running' : 'STOPPED'}  ssh ${h.ssh ? 'ok' : 'NO'}  disk ${h.loopDevice}${h.loopAttached ? '' : ' (detached!)'}${h.tpm === undefined ? '' : `  tpm ${h.tpm ? 'ok' : 'DOWN'}`}${h.behind ? `  behind ${h.behind}` : ''}\n`,
    );
  }
  for (const t of tang) process.stdout.write(`  tang    ${t.url}  ${t.running ? 'running' : 'STOPPED'}\n`);
  if (ntp) process.stdout.write(`  ntp     ${ntp.address}  ${ntp.running ? 'running' : 'STOPPED'}\n`);
  if (!up) process.exitCode = 1;
}

/** One `up`/`down` at a time per lab dir: DIR/lock, the installer's one file lock (released on exit). */
async function lockDir(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await acquireFileLock(join(dir, 'lock'), {
    command: `scripts/lab ${process.argv[2] ?? ''}`,
    busy: (holder) => new LabError(`another scripts/lab (pid ${holder.pid}) is working on ${dir}; wait for it`),
  });
}

/** Removes cached images of other recipes that no running process (nspawn) uses. */
function pruneImages(): void {
  const current = `host-os-${imageHash()}`;
  if (!existsSync(CACHE)) return;
  const inUse = new Set<string>();
  for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      for (const a of readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0')) {
        const m = /^--(?:directory|overlay)=([^:]+)/.exec(a);
        if (m?.[1]?.startsWith(`${CACHE}/`)) inUse.add(m[1].slice(CACHE.length + 1).split('/')[0]!);
      }
    } catch {}
  }
  for (const d of readdirSync(CACHE)) {
    if (!d.startsWith('host-os-') || d === current) continue;
    if (inUse.has(d)) {
      say(`kept ${d}: in use by a running lab`);
      continue;
    }
    rmSync(join(CACHE, d), { recursive: true, force: true });
    say(`removed ${d}`);
  }
}

// ---------------------------------------------------------------- main

let currentDir: string | undefined;
/** set once `up` has begun to make resources */
let started = false;

const collect = (v: string, prev: string[]): string[] => [...prev, v];
const dirOption = () => new Option('--dir <dir>', 'the lab directory (its state.json, hosts/, services/)').default('./lab');

/** `up N` with its --disk-size values checked against the hosts it makes. */
async function upCommand(n: string, o: { dir: string; diskSize: string[]; tpm?: boolean; jump?: boolean }): Promise<void> {
  const count = Number(n);
  if (!Number.isInteger(count) || count < 1 || count > 20) throw new LabError('up N: N must be a number of hosts from 1 to 20', 2);
  let diskDefault = parseSize('2G');
  const diskPerHost = new Map<string, number>();
  for (const v of o.diskSize) {
    const m = /^([a-z0-9-]+)=(.+)$/.exec(v);
    if (m) diskPerHost.set(m[1]!, parseSize(m[2]!));
    else diskDefault = parseSize(v);
  }
  const jump = o.jump === true;
  const total = count + (jump ? 1 : 0);
  for (const k of diskPerHost.keys()) {
    if (!/^host\d+$/.test(k) || Number(k.slice(4)) < 1 || Number(k.slice(4)) > total) throw new LabError(`--disk-size ${k}=…: this lab has host1..host${total}`, 2);
  }
  const dir = labDir(o.dir);
  currentDir = dir;
  await lockDir(dir);
  await up({ count, dir, diskDefault, diskPerHost, tpm: o.tpm === true, jump });
}

function program(): Command {
  const p = new Command('scripts/lab')
    .description('rehearsal hosts on this machine: systemd-nspawn machines on a bridge in 10.231.0.0/24, with Tang, NTP and optional TPMs')
    .enablePositionalOptions()
    .showHelpAfterError('(scripts/lab --help for usage)')
    .exitOverride();
  p.command('up')
    .description('build N hosts (and clear what a killed run of this lab left)')
    .argument('<N>', 'number of hosts, 1 to 20')
    .addOption(dirOption())
    .option('--disk-size <size>', 'data disk size, e.g. 2G; hostK=SIZE for one host (repeatable)', collect, [])
    .option('--tpm', 'give every host a swtpm TPM 2.0')
    .option('--jump', 'add a jump host; the last host is reachable only through it')
    .action(upCommand);
  p.command('down')
    .description('remove everything the lab recorded')
    .addOption(dirOption())
    .action(async (o: { dir: string }) => {
      const dir = labDir(o.dir);
      currentDir = dir;
      await lockDir(dir);
      down(dir);
    });
  p.command('status')
    .description("each host's state (exit 1 when anything is down)")
    .addOption(dirOption())
    .option('--json', 'as JSON')
    .action((o: { dir: string; json?: boolean }) => status(labDir(o.dir), o.json === true));
  p.command('ssh')
    .description("OpenSSH to a host with the lab's key and pinned host keys (user: HOST or ops@HOST)")
    .addOption(dirOption())
    .argument('<host>')
    .argument('[command...]', 'run this instead of a login shell')
    .passThroughOptions()
    .action((host: string, command: string[], o: { dir: string }) => {
      const d = labDir(o.dir);
      const info = readJson<LabInfo>(join(d, 'lab.json'));
      if (!info) throw new LabError(`no lab up in ${d}`);
      const r = spawnSync('ssh', ['-F', info.sshConfigPath, ...(process.stdin.isTTY && !command.length ? ['-t'] : []), host, ...command], { stdio: 'inherit' });
      process.exitCode = r.status ?? 255;
    });
  p.command('prune-images').description('remove cached host images of other recipes that no running lab uses').action(() => pruneImages());
  return p;
}

async function main(argv: string[]): Promise<void> {
  try {
    await program().parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    // help exits 0; a usage mistake 2 (commander printed why)
    process.exitCode = e.code === 'commander.helpDisplayed' || e.code === 'commander.help' || e.code === 'commander.version' ? 0 : 2;
  }
}

main(process.argv.slice(2)).catch((e: unknown) => {
  if (e instanceof LabError) {
    say(e.message);
    process.exitCode = e.exitCode;
    if (process.argv[2] === 'up' && started && currentDir && existsSync(statePath(currentDir))) {
      say(`what this run made is recorded: \`scripts/lab down --dir ${currentDir}\` removes it (logs: DIR/hosts/*/console.log, DIR/services/*.log)`);
    }
  } else {
    console.error(e);
    process.exitCode = 1;
  }
});
