/**
 * The lab itself: every host reachable as root and as ops (sudo) over OpenSSH with the pinned
 * host keys, distinct identities, its data disk, its TPM, the jump host, Tang, and a separate
 * small lab that is killed halfway, brought up again over its leftovers and taken down leaving
 * nothing behind.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { advertisementSigningKeys, jwkThumbprint } from '../../installer/encryption/jwk.ts';
import type { LabState } from '../../scripts/lab.d/types.ts';
import { getLab, LABS_ROOT, labSsh } from './lab.ts';

const repo = resolve(import.meta.dirname, '../..');
const lab = getLab();

function ok(host: string, cmd: string, user?: string): string {
  const r = labSsh(host, cmd, { user });
  if (r.code !== 0) throw new Error(`${host}: ${cmd} -> exit ${r.code}: ${r.stderr}`);
  return r.stdout.trim();
}

function tcpConnects(host: string, port: number, ms: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect({ host, port });
    const done = (v: boolean) => {
      s.destroy();
      res(v);
    };
    s.setTimeout(ms, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

describe('the shared lab', () => {
  it('reaches the test workers through env PALISADE_LAB_DIR and inject("labDir")', () => {
    expect(process.env.PALISADE_LAB_DIR).toBe(lab.dir);
    expect(inject('labDir')).toBe(lab.dir);
  });

  it('has 4 hosts and host5 behind host1, as global-setup asked', () => {
    expect(lab.hosts.map((h) => h.name)).toEqual(['host1', 'host2', 'host3', 'host4', 'host5']);
    expect(lab.hosts.map((h) => h.role)).toEqual(['controller', 'controller', 'controller', 'worker', 'worker']);
    expect(lab.hosts.find((h) => h.name === 'host5')?.behind).toBe('host1');
    expect(lab.hosts.every((h) => h.tpm)).toBe(true);
    expect(statSync(lab.keyPath).mode & 0o077).toBe(0);
  });

  it('every host answers as root with its own hostname, machine-id and the pinned host key', () => {
    const seen = lab.hosts.map((h) => {
      const [hostname, machineId, fp] = ok(
        h.name,
        'hostname; cat /etc/machine-id; ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub | cut -d" " -f2; id -u',
      ).split('\n');
      expect(hostname).toBe(h.name);
      expect(machineId).toMatch(/^[0-9a-f]{32}$/);
      expect(fp).toBe(h.hostKey);
      return { hostname, machineId, fp };
    });
    expect(new Set(seen.map((s) => s.machineId)).size).toBe(lab.hosts.length);
    expect(new Set(seen.map((s) => s.fp)).size).toBe(lab.hosts.length);
  });

  it('ops has passwordless sudo on every host', () => {
    for (const h of lab.hosts) {
      expect(ok(h.name, 'whoami; sudo -n id -u', 'ops')).toBe('ops\n0');
    }
  });

  it('a host key other than the pinned one is refused', () => {
    const other = lab.hosts[1]!;
    const first = lab.hosts[0]!;
    // host1's address with host2's pinned key: OpenSSH must refuse (StrictHostKeyChecking yes)
    const r = spawnSync('ssh', ['-F', lab.sshConfigPath, '-o', `HostKeyAlias=${other.address}`, '-o', `HostName=${first.address}`, other.name, 'true'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
  });

  it('each host has its data disk at /dev/vdb with the configured size', () => {
    for (const h of lab.hosts) {
      const [type, size] = ok(h.name, 'stat -c %F /dev/vdb; blockdev --getsize64 /dev/vdb').split('\n');
      expect(type).toBe('block special file');
      expect(Number(size)).toBe(h.diskBytes);
    }
    expect(new Set(lab.hosts.map((h) => h.loopDevice)).size).toBe(lab.hosts.length);
  });

  it('each host has its own TPM (tpm2_getrandom, clevis tpm2 round trip)', () => {
    for (const h of lab.hosts.filter((x) => x.tpm)) {
      expect(ok(h.name, 'tpm2_getrandom --hex 8')).toMatch(/^[0-9a-f]{16}$/);
    }
    // sealed by host2's TPM: host2 opens it, host3 (another TPM) cannot
    const jwe = ok('host2', 'echo lab-secret | clevis encrypt tpm2 "{}"');
    expect(labSsh('host2', 'clevis decrypt', { input: jwe }).stdout).toBe('lab-secret\n');
    expect(labSsh('host3', 'clevis decrypt', { input: jwe }).code).not.toBe(0);
  });

  it('host5 is reached through host1 and not directly', async () => {
    const h5 = lab.hosts.find((h) => h.name === 'host5')!;
    expect(ok('host5', 'hostname')).toBe('host5');
    expect(ok('host1', `timeout 5 bash -c 'exec 3<>/dev/tcp/${h5.address}/22 && head -c 7 <&3'`)).toBe('SSH-2.0');
    expect(await tcpConnects(h5.address, 22, 2000)).toBe(false);
    expect(await tcpConnects(lab.hosts[0]!.address, 22, 2000)).toBe(true);
  });

  it('the Tang servers answer /adv from the hosts with the pinned thumbprints', () => {
    expect(lab.services.tang).toHaveLength(2);
    for (const host of ['host2', 'host5']) {
      for (const t of lab.services.tang) {
        const adv = ok(host, `curl -sSf --max-time 5 ${t.url}/adv`);
        expect(advertisementSigningKeys(adv).map((k) => jwkThumbprint(k))).toContain(t.thumbprint);
      }
    }
    expect(lab.services.tang[0]!.thumbprint).not.toBe(lab.services.tang[1]!.thumbprint);
  });

  it('hosts keep time with the lab NTP server (chrony, no clock control)', async () => {
    const ntp = lab.services.ntp!;
    expect(ntp).toBe(lab.services.address);
    for (const host of ['host2', 'host5']) {
      let sources = '';
      for (let i = 0; i < 40 && !sources.includes(`^* ${ntp} `); i++) {
        if (i) await new Promise((r) => setTimeout(r, 500));
        sources = labSsh(host, 'chronyc -n sources').stdout;
      }
      expect(sources, `${host}: chronyc -n sources`).toContain(`^* ${ntp} `);
    }
  });

  it('palisade.yaml is valid and pins every host', () => {
    const r = spawnSync('npx', ['palisade', 'validate', '-c', lab.configPath], { cwd: repo, encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr + r.stdout).toContain('is valid');
    expect(r.status).toBe(0);
    const yaml = readFileSync(lab.configPath, 'utf8');
    for (const h of lab.hosts) expect(yaml).toContain(h.hostKey);
    expect(yaml).toMatch(/viaJumpHost: true/);
  });

  it('hosts do not share a cgroup tree: stopping a unit on one host leaves the same unit on another running', () => {
    for (const h of ['host3', 'host4']) ok(h, 'systemctl stop labiso 2>/dev/null; systemd-run --quiet --unit=labiso sleep 600');
    try {
      ok('host3', 'systemctl stop labiso');
      expect(labSsh('host3', 'systemctl is-active labiso').stdout.trim()).not.toBe('active');
      expect(ok('host4', 'systemctl is-active labiso')).toBe('active');
      expect(ok('host4', 'pgrep -x sleep')).toMatch(/^\d+/);
    } finally {
      for (const h of ['host3', 'host4']) labSsh(h, 'systemctl stop labiso');
    }
  });

  it('status reports every host up', () => {
    const r = spawnSync(join(repo, 'scripts/lab'), ['status', '--dir', lab.dir, '--json'], { encoding: 'utf8', timeout: 60_000 });
    const s = JSON.parse(r.stdout) as { up: boolean; hosts: { name: string; ssh: boolean }[] };
    expect(s.up).toBe(true);
    expect(s.hosts.map((h) => h.ssh)).toEqual(lab.hosts.map(() => true));
  });
});

describe('a lab killed halfway, brought up again and taken down', () => {
  const dir = join(LABS_ROOT, `lifecycle-${process.pid}`);
  const labCmd = (args: string[]) => spawnSync(join(repo, 'scripts/lab'), [...args, '--dir', dir], { encoding: 'utf8', timeout: 300_000 });
  afterAll(() => {
    labCmd(['down']);
    rmSync(dir, { recursive: true, force: true });
  });

  function leftovers(state: LabState): string[] {
    const out: string[] = [];
    const netns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    for (const r of state.resources) {
      if (r.kind === 'netns' && new RegExp(`^${r.name}( |$)`, 'm').test(netns)) out.push(`netns ${r.name}`);
      if ((r.kind === 'bridge' || r.kind === 'veth') && existsSync(`/sys/class/net/${r.name}`)) out.push(`link ${r.name}`);
      if (r.kind === 'loop' && spawnSync('losetup', ['-j', r.file], { encoding: 'utf8' }).stdout.trim()) out.push(`loop ${r.file}`);
      if (r.kind === 'process') {
        let stat = '';
        try {
          stat = readFileSync(`/proc/${r.pid}/stat`, 'utf8');
        } catch {}
        const f = stat ? stat.slice(stat.lastIndexOf(')') + 2).split(' ') : [];
        // same PID and start time, and not a zombie waiting for its (re-)parent to reap it
        if (f[19] === r.start && f[0] !== 'Z') out.push(`process ${r.what} ${r.pid}`);
      }
      if (r.kind === 'slot' && existsSync(r.claim)) out.push(`slot claim ${r.claim}`);
      if (r.kind === 'cgroup' && existsSync(r.path)) out.push(`cgroup ${r.path}`);
    }
    return out;
  }

  it('clears a killed run, comes up, and down leaves no netns, loop device or process behind', async () => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'owner.pid'), `${process.pid}\n`); // ours while we run (global-setup leaves it alone)
    // 1. kill `lab up` as soon as its first machine is booting
    const child = spawn(join(repo, 'scripts/lab'), ['up', '1', '--tpm', '--dir', dir], { stdio: 'ignore' });
    const statePath = join(dir, 'state.json');
    const readState = (): LabState | undefined => {
      try {
        return JSON.parse(readFileSync(statePath, 'utf8')) as LabState;
      } catch {
        return undefined;
      }
    };
    const until = Date.now() + 240_000;
    while (!readState()?.resources.some((r) => r.kind === 'process' && r.what.endsWith('nspawn')) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const killed = readState()!;
    expect(killed.resources.some((r) => r.kind === 'netns')).toBe(true);
    expect(existsSync(join(dir, 'lab.json'))).toBe(false);

    // 2. up again over the leftovers: the killed run's resources are gone, the new lab works
    const up = labCmd(['up', '1', '--tpm', '--disk-size', 'host1=64M']);
    expect(up.status, up.stderr).toBe(0);
    // (the new run reuses the names: its processes are new, and one loop device per disk file)
    expect(leftovers(killed).filter((l) => l.startsWith('process'))).toEqual([]);
    for (const r of killed.resources) {
      if (r.kind === 'loop') expect(spawnSync('losetup', ['-j', r.file], { encoding: 'utf8' }).stdout.trim().split('\n')).toHaveLength(1);
    }
    const state = readState()!;
    const info = JSON.parse(readFileSync(join(dir, 'lab.json'), 'utf8')) as { hosts: { name: string }[]; sshConfigPath: string };
    const r = spawnSync('ssh', ['-F', info.sshConfigPath, 'host1', 'hostname; tpm2_getrandom --hex 4; echo; blockdev --getsize64 /dev/vdb'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.stdout).toMatch(/^host1\n[0-9a-f]{8}\n67108864\n$/);

    // 3. down, twice: nothing of either run is left
    expect(labCmd(['down']).status).toBe(0);
    expect(labCmd(['down']).status).toBe(0);
    expect(leftovers(state)).toEqual([]);
    expect(leftovers(killed)).toEqual([]);
    expect(existsSync(join(dir, 'state.json'))).toBe(false);
    const st = spawnSync(join(repo, 'scripts/lab'), ['status', '--dir', dir, '--json'], { encoding: 'utf8' });
    expect(JSON.parse(st.stdout).up).toBe(false);
  });

  it('when no slot is free, a lab with no process left is taken down by its records and its slot reused', () => {
    const free = [0, 1, 2, 3, 4, 5, 6, 7].filter((n) => !existsSync(`/run/palisade-lab/slot-${n}`) && !existsSync(`/sys/class/net/plab${n}-br`));
    expect(free.length, 'a free slot for this test').toBeGreaterThan(0);
    const slot = String(free[free.length - 1]);
    const dead = `${dir}-dead`;
    mkdirSync(dead, { recursive: true });
    writeFileSync(join(dead, 'owner.pid'), `${process.pid}\n`);
    const env = { ...process.env, PALISADE_LAB_SLOTS: slot };
    const run = (args: string[]) => spawnSync(join(repo, 'scripts/lab'), args, { encoding: 'utf8', timeout: 300_000, env });
    try {
      expect(run(['up', '1', '--dir', dead]).status).toBe(0);
      const deadState = JSON.parse(readFileSync(join(dead, 'state.json'), 'utf8')) as LabState;
      expect(deadState.slot).toBe(Number(slot));
      // the slot is taken by a live lab: refused
      const refused = run(['up', '1', '--dir', dir]);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toMatch(/no free lab slot/);
      // its processes stopped from outside: the next lab takes it down and takes the slot
      for (const r of deadState.resources) {
        if (r.kind === 'process') {
          try {
            process.kill(r.pid, 'SIGKILL');
          } catch {}
        }
      }
      const up = run(['up', '1', '--dir', dir]);
      expect(up.status, up.stderr).toBe(0);
      expect(up.stderr).toContain(`the lab in ${dead} (slot ${slot}) has no process left`);
      expect(existsSync(join(dead, 'state.json'))).toBe(false);
      expect(leftovers(deadState).filter((l) => !l.startsWith('netns') && !l.startsWith('link') && !l.startsWith('slot') && !l.startsWith('cgroup'))).toEqual(
        [],
      );
      expect(run(['down', '--dir', dir]).status).toBe(0);
      expect(leftovers(deadState)).toEqual([]);
    } finally {
      run(['down', '--dir', dead]);
      run(['down', '--dir', dir]);
      rmSync(dead, { recursive: true, force: true });
    }
  });
});
