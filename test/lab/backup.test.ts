/**
 * Backup and restore on the lab, one install shared by every case: marker
 * objects, `palisade backup` (no secret in plain form, the real age CLI opens
 * it), refusals of a changed, cut-off or wrongly keyed file before any host
 * changes, the datastore destroyed on every controller and restored, a
 * restore SIGKILLed during the controller rejoin and resumed, and the same
 * backup restored onto rebuilt hosts (new host keys, new machine-ids, blank
 * disks). Figures go to .cache/bench/backup.json (BENCHMARKS.md "Backup and restore").
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getLab, labSsh } from './lab.ts';

const repo = resolve(import.meta.dirname, '../..');
const cli = join(repo, 'installer/bin/palisade.js');
const work = join(repo, '.cache', 'lab-backup', String(process.pid));
const dir = join(work, 'appliance');
const PASS = 'lab backup passphrase 42';
const env = { ...process.env, PALISADE_PASSPHRASE: PASS, CI: '1' };
const names = ['host1', 'host2', 'host3', 'host4'];
const controllers = ['host1', 'host2', 'host3'];
const figures: Record<string, number> = {};

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

function palisade(args: string[], extraEnv: Record<string, string> = {}): Promise<Run> {
  return new Promise((res) => {
    const t0 = performance.now();
    const p = spawn(process.execPath, [cli, ...args], { cwd: dir, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    p.on('close', (code) => res({ code: code ?? 1, stdout, stderr, ms: performance.now() - t0 }));
  });
}

let bundle = '';
let trustedKey = '';
let backupFile = '';
const restore = (file: string, ...extra: string[]) => palisade(['restore', file, '--bundle', bundle, '--trusted-key', trustedKey, '--yes', ...extra]);

function sh(host: string, cmd: string, timeoutMs = 120_000): string {
  const r = labSsh(host, cmd, { timeoutMs });
  expect(r.code, `${host}: ${cmd}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

/** OpenSSH to a host whose key is not the lab's pinned one (a rebuilt host) */
function looseSsh(host: string, cmd: string): string {
  const r = spawnSync(
    'ssh',
    ['-F', getLab().sshConfigPath, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', host, cmd],
    { encoding: 'utf8', timeout: 120_000 },
  );
  expect(r.status, `${host}: ${cmd}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

const kubectl = (args: string, input?: string) => labSsh('host1', `k3s kubectl ${args}`, { ...(input ? { input } : {}) });
const markers = () =>
  kubectl('get configmap restore-marker -n default -o jsonpath={.data.v}').stdout +
  '|' +
  kubectl('get secret restore-marker -n default -o jsonpath={.data.v}').stdout;
const MARKERS = `before|${Buffer.from('secret marker').toString('base64')}`;

/** the cluster's datastore gone on every controller: services stopped, server/db removed, the first one started empty */
function destroyDatastore(): void {
  for (const h of controllers) sh(h, 'systemctl stop k3s; rm -rf /var/lib/rancher/k3s/server/db');
  sh('host1', 'systemctl start k3s; for i in $(seq 60); do k3s kubectl get --raw /readyz >/dev/null 2>&1 && exit 0; sleep 1; done; exit 1');
  expect(markers()).toBe('|');
}

function hostState(): string {
  return names
    .map(
      (n) =>
        `${n}: ${labSsh(n, 'systemctl is-active k3s k3s-agent; ls /var/lib/rancher/k3s/server/db 2>/dev/null | sort; sha256sum /etc/rancher/k3s/config.yaml 2>/dev/null').stdout}`,
    )
    .join('\n');
}

function cleanHosts(): void {
  for (const n of names) {
    labSsh(
      n,
      [
        'systemctl stop k3s k3s-agent palisade-registry 2>/dev/null; systemctl disable k3s k3s-agent palisade-registry >/dev/null 2>&1',
        'rm -rf /etc/rancher/k3s /var/lib/rancher/k3s /usr/local/bin/k3s /etc/systemd/system/k3s.service /etc/systemd/system/k3s-agent.service /etc/systemd/system/palisade-registry.service /etc/palisade /usr/local/lib/palisade /var/lib/palisade/registry /var/lib/palisade-restore /etc/sysctl.d/90-palisade.conf /etc/modules-load.d/palisade.conf',
        "sed -i -E '/ # palisade$/d; s/^# (.*) # palisade: replaced$/\\1/' /etc/hosts; if [ -f /etc/crypttab ]; then sed -i '/^palisade-/d' /etc/crypttab; fi; systemctl daemon-reload",
        'wipefs -a -q /dev/vdb 2>/dev/null; dd if=/dev/zero of=/dev/vdb bs=1M count=20 conv=fsync status=none; true',
      ].join('\n'),
      { timeoutMs: 120_000 },
    );
  }
}

/** each host's own identity, to be put back when the test is done with "rebuilt" hosts */
const saved = new Map<string, string>();

beforeAll(async () => {
  cleanHosts();
  mkdirSync(dir, { recursive: true });
  const b = spawnSync(join(repo, 'scripts/bundle/build-test-bundle'), ['--work', join(work, 'bundle-work')], { encoding: 'utf8' });
  expect(b.status, b.stderr).toBe(0);
  bundle = /bundle: (\S+)/.exec(b.stdout)![1]!;
  trustedKey = /trusted key: (\S+)/.exec(b.stdout)![1]!;
  const c = parse(readFileSync(getLab().configPath, 'utf8')) as Record<string, any>;
  c.cluster.name = 'lab';
  c.hosts = names.map((n, i) => ({ ...(c.hosts as any[]).find((x) => x.name === n), role: i < 3 ? 'controller' : 'worker' }));
  c.preflight = { ignore: [...new Set([...(c.preflight?.ignore ?? []), 'time.sync', 'airgap.route', 'disk.latency'])] };
  c.encryption = { ...c.encryption, iterTimeMs: 100, pbkdfMemoryKiB: 32768 };
  writeFileSync(join(dir, 'palisade.yaml'), stringify(c));
  const r = await palisade(['install', '-c', 'palisade.yaml', '--bundle', bundle, '--trusted-key', trustedKey, '--yes']);
  expect(r.code, r.stderr + r.stdout).toBe(0);
  figures.installMs = r.ms;
  const secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'restore-marker', namespace: 'default' },
    data: { v: Buffer.from('secret marker').toString('base64') },
  };
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'restore-marker', namespace: 'default' }, data: { v: 'before' } };
  expect(kubectl('apply -f -', JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [secret, cm] })).code).toBe(0);
  expect(markers()).toBe(MARKERS);
});

afterAll(() => {
  for (const [n, identity] of saved) looseSsh(n, `echo ${identity} | base64 -d | tar -xzf - -C / && systemctl restart ssh`);
  cleanHosts();
  mkdirSync(join(repo, '.cache', 'bench'), { recursive: true });
  writeFileSync(
    join(repo, '.cache', 'bench', 'backup.json'),
    `${JSON.stringify({ at: new Date().toISOString(), load: readFileSync('/proc/loadavg', 'utf8').trim(), ...figures }, null, 2)}\n`,
  );
});

describe('palisade backup and restore on the lab (3 controllers + 1 worker, tang)', () => {
  it('backup writes one 0600 file that holds no secret in plain form and the age CLI opens; list and verify show it', async () => {
    const r = await palisade(['backup', '-c', 'palisade.yaml', '--out', 'backups/', '--keep', '3']);
    expect(r.code, r.stderr).toBe(0);
    figures.backupMs = r.ms;
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    backupFile = /^backup: (\S+) /.exec(r.stdout)![1]!;
    const st = statSync(backupFile);
    expect(st.mode & 0o777).toBe(0o600);
    figures.backupBytes = st.size;
    const bytes = readFileSync(backupFile);
    const token = JSON.parse(sh('host1', "sed -n 's/^token: //p' /etc/rancher/k3s/config.yaml").trim()) as string;
    const regPassword = JSON.parse(sh('host1', "sed -n 's/^ *password: //p' /etc/rancher/k3s/registries.yaml").trim()) as string;
    for (const s of [token, regPassword, PASS]) {
      expect(s.length).toBeGreaterThan(8);
      expect(bytes.includes(Buffer.from(s))).toBe(false);
    }
    const tar = join(work, 'backup.tar');
    const age = spawnSync('script', ['-qec', `age -d -o ${tar} ${backupFile}`, '/dev/null'], { input: `${PASS}\n`, encoding: 'utf8', timeout: 120_000 });
    expect(age.status, age.stdout).toBe(0);
    const members = spawnSync('tar', ['tf', tar], { encoding: 'utf8' }).stdout.trim().split('\n');
    expect(members[0]).toBe('palisade-backup.json');
    expect(members.at(-1)).toBe('MANIFEST.json');
    expect(members).toEqual(
      expect.arrayContaining([
        'secrets/cluster-token',
        'state/keystore.json',
        'config/palisade.yaml',
        'registry/index.json',
        'luks/host1/vdb.img',
        'luks/host4/vdb.img',
      ]),
    );
    expect(members.some((m) => /^datastore\/palisade-backup-host1-\d+$/.test(m))).toBe(true);
    // the token inside is the cluster's
    expect(spawnSync('tar', ['xOf', tar, 'secrets/cluster-token'], { encoding: 'utf8' }).stdout).toBe(token);
    const v = await palisade(['backup', 'verify', backupFile]);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toMatch(/verified, \d+ members match the manifest/);
    const l = await palisade(['backup', 'list', join(dir, 'backups')]);
    expect(l.stdout).toMatch(/lab +0\.\d+\.\d+ +v1\.\d+\.\d+\+k3s\d/);
    const withReg = await palisade(['backup', '-c', 'palisade.yaml', '--out', join(work, 'with-registry'), '--with-registry']);
    expect(withReg.code, withReg.stderr).toBe(0);
    figures.backupWithRegistryMs = withReg.ms;
    const f = join(work, 'with-registry', readdirSync(join(work, 'with-registry')).find((x) => x.endsWith('.backup.age'))!);
    figures.backupWithRegistryBytes = statSync(f).size;
    expect(figures.backupWithRegistryBytes).toBeGreaterThan(figures.backupBytes!);
  });

  it('restore refuses a changed, cut-off or wrongly keyed backup with one line, before any host changes', async () => {
    const before = hostState();
    const bytes = readFileSync(backupFile);
    const changed = join(work, 'changed.backup.age');
    const flipped = Buffer.from(bytes);
    flipped[Math.floor(flipped.length / 2)]! ^= 1;
    writeFileSync(changed, flipped);
    const cut = join(work, 'cut.backup.age');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 4096));
    for (const [file, extraEnv, code] of [
      [changed, {}, 'backup.tampered'],
      [cut, {}, 'backup.truncated'],
      [backupFile, { PALISADE_PASSPHRASE: 'not the passphrase at all' }, 'backup.key'],
    ] as const) {
      const r = await palisade(['restore', file, '--bundle', bundle, '--trusted-key', trustedKey, '--yes'], extraEnv);
      expect(r.code, r.stdout).toBe(1);
      expect(r.stderr).toContain(`[${code}]`);
    }
    expect(hostState()).toBe(before);
  });

  it('the datastore destroyed on every controller: restore brings the markers back and status is healthy', async () => {
    destroyDatastore();
    const r = await restore(backupFile);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    figures.restoreMs = r.ms;
    expect(markers()).toBe(MARKERS);
    const s = await palisade(['status', '-c', 'palisade.yaml', '-o', 'json']);
    expect(s.code, s.stdout).toBe(0);
    expect(JSON.parse(s.stdout).ok).toBe(true);
  });

  it('a restore SIGKILLed while a controller rejoins resumes when run again', async () => {
    destroyDatastore();
    const p = spawn(process.execPath, [cli, 'restore', backupFile, '--bundle', bundle, '--trusted-key', trustedKey, '--yes'], {
      cwd: dir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const closed = new Promise<void>((res) => p.on('close', () => res()));
    let killed = false;
    const journalPath = join(dir, '.palisade', 'lab', 'journal.json');
    while (!killed && p.exitCode === null) {
      try {
        if (JSON.parse(readFileSync(journalPath, 'utf8')).phases?.rejoin?.hosts?.host3?.status === 'running') {
          p.kill('SIGKILL');
          killed = true;
        }
      } catch {}
      await new Promise((res) => setTimeout(res, 50));
    }
    await closed;
    expect(killed, `the restore ended before host3 rejoined:\n${stderr}`).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, '.palisade', 'lab', 'restore.json'), 'utf8'))).toMatchObject({
      stopped: true,
      restored: true,
      rejoined: ['host2'],
    });
    const r = await restore(backupFile, '--output', 'json');
    expect(r.code, r.stderr).toBe(0);
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events).toContainEqual(expect.objectContaining({ phase: 'snapshot', status: 'skipped' }));
    expect(events).toContainEqual(expect.objectContaining({ phase: 'rejoin', status: 'done' }));
    expect(markers()).toBe(MARKERS);
  });

  it('onto rebuilt hosts (new host keys, machine-ids, blank disks): stops for hosts trust, then restores', async () => {
    for (const n of names) {
      saved.set(n, sh(n, 'tar -czf - /etc/ssh/ssh_host_* /etc/machine-id 2>/dev/null | base64 -w0').trim());
    }
    cleanHosts();
    for (const n of names)
      sh(n, 'rm -f /etc/ssh/ssh_host_* && ssh-keygen -A -q && rm -f /etc/machine-id && systemd-machine-id-setup >/dev/null 2>&1; systemctl restart ssh');
    const refused = await restore(backupFile);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/\[restore\.hosts-trust\]: 4 host\(s\) present a host key that is not pinned: host1, host2, host3, host4/);
    expect(refused.stderr).toMatch(/palisade hosts trust --replace/);
    const t = await palisade(['hosts', 'trust', '-c', 'palisade.yaml', '--replace', '--yes']);
    expect(t.code, t.stderr).toBe(0);
    const r = await restore(backupFile);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    figures.restoreRebuiltMs = r.ms;
    expect(r.stdout).toMatch(/new machines since the backup .*host1, host2, host3, host4/);
    for (const n of names) expect(looseSsh(n, 'cryptsetup isLuks /dev/vdb && echo luks').trim()).toBe('luks');
    expect(looseSsh('host1', 'k3s kubectl get configmap restore-marker -o jsonpath={.data.v}')).toBe('before');
    const s = await palisade(['status', '-c', 'palisade.yaml', '-o', 'json']);
    expect(s.code, s.stdout).toBe(0);
  });
});
