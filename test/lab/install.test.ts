/**
 * palisade install end to end on the lab: 3 controllers + 1 worker with tang disk
 * encryption, from the signed test bundle (k3s stand-in as bin/k3s). Dry run first
 * (changes nothing), full install, no-op re-run, Ctrl-C and SIGKILL in the middle of
 * the cluster phase then resume, and a single-host install. Figures go to
 * .cache/bench/install.json (BENCHMARKS.md "Install").
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getLab, labSsh } from './lab.ts';

const repo = resolve(import.meta.dirname, '../..');
const cli = join(repo, 'installer/bin/palisade.js');
const work = join(repo, '.cache', 'lab-install', String(process.pid));
const env = { ...process.env, PALISADE_PASSPHRASE: 'lab install passphrase 42', CI: '1' };
const figures: Record<string, number> = {};
const phaseTimes: Record<string, Record<string, number>> = {};
const durations = (dir: string, cluster: string): Record<string, number> =>
  Object.fromEntries(
    Object.entries(journal(dir, cluster).phases as Record<string, { durationMs?: number }>).map(([k, v]) => [k, Math.round(v.durationMs ?? 0)]),
  );

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

function palisade(args: string[], cwd: string): Promise<Run> {
  return new Promise((res) => {
    const t0 = performance.now();
    const p = spawn(process.execPath, [cli, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    p.on('close', (code) => res({ code: code ?? 1, stdout, stderr, ms: performance.now() - t0 }));
  });
}

let bundle = '';
let trustedKey = '';
const install = (dir: string, ...extra: string[]) =>
  palisade(['install', '-c', 'palisade.yaml', '--bundle', bundle, '--trusted-key', trustedKey, '--yes', ...extra], dir);

/** A config for `hosts` from the lab's palisade.yaml, with the waivers the lab cannot honestly pass. */
function writeConfig(dir: string, cluster: string, hosts: Array<{ name: string; role: 'controller' | 'worker' }>, waive: string[] = []): void {
  mkdirSync(dir, { recursive: true });
  const lab = getLab();
  const c = parse(readFileSync(lab.configPath, 'utf8')) as Record<string, any>;
  c.cluster.name = cluster;
  c.hosts = hosts.map((h) => ({ ...(c.hosts as any[]).find((x) => x.name === h.name), role: h.role }));
  // the lab hosts run no NTP client; this machine (the admin side) has a default route; the lab's
  // data disks are loop files on a machine shared with other tests, so fdatasync latency is noise
  c.preflight = { ignore: [...new Set([...(c.preflight?.ignore ?? []), 'time.sync', 'airgap.route', 'disk.latency', ...waive])] };
  // a cheap key-slot KDF: the 2 shared cores would otherwise spend most of the install in argon2,
  // which says nothing about the install itself (BENCHMARKS.md "Install" says so)
  c.encryption = { ...c.encryption, iterTimeMs: 100, pbkdfMemoryKiB: 32768 };
  writeFileSync(join(dir, 'palisade.yaml'), stringify(c));
}

/** What a run could change on a host, in one line per host. */
function hostState(names: string[]): string {
  return names
    .map((n) => {
      const r = labSsh(
        n,
        'sha256sum /etc/hosts /etc/sysctl.d/90-palisade.conf /etc/rancher/k3s/config.yaml /usr/local/bin/k3s 2>&1; ls /etc/palisade 2>&1; systemctl is-active k3s k3s-agent palisade-registry; cryptsetup isLuks /dev/vdb && echo luks || echo plain',
      );
      return `${n}:\n${r.stdout}`;
    })
    .join('\n');
}

function uninstallCluster(names: string[]): void {
  for (const n of names) {
    const r = labSsh(
      n,
      'systemctl stop k3s k3s-agent 2>/dev/null; systemctl disable k3s k3s-agent >/dev/null 2>&1; rm -rf /etc/rancher/k3s /var/lib/rancher/k3s /usr/local/bin/k3s /etc/systemd/system/k3s.service /etc/systemd/system/k3s-agent.service; systemctl daemon-reload; true',
    );
    expect(r.code).toBe(0);
  }
}

/** Leave a host as the lab made it: no cluster, no registry, no palisade files, a blank data disk. */
function cleanHosts(names: string[]): void {
  for (const n of names) {
    const r = labSsh(
      n,
      [
        'systemctl stop k3s k3s-agent palisade-registry 2>/dev/null; systemctl disable k3s k3s-agent palisade-registry >/dev/null 2>&1',
        'rm -rf /etc/rancher/k3s /var/lib/rancher/k3s /usr/local/bin/k3s /etc/systemd/system/k3s.service /etc/systemd/system/k3s-agent.service /etc/systemd/system/palisade-registry.service /etc/palisade /usr/local/lib/palisade /var/lib/palisade/registry /etc/sysctl.d/90-palisade.conf /etc/modules-load.d/palisade.conf',
        "sed -i -E '/ # palisade$/d; s/^# (.*) # palisade: replaced$/\\1/' /etc/hosts; if [ -f /etc/crypttab ]; then sed -i '/^palisade-/d' /etc/crypttab; fi; systemctl daemon-reload",
        'wipefs -a -q /dev/vdb 2>/dev/null; dd if=/dev/zero of=/dev/vdb bs=1M count=20 conv=fsync status=none; true',
      ].join('\n'),
      { timeoutMs: 120_000 },
    );
    expect(r.code, `${n}: ${r.stderr}`).toBe(0);
  }
}

function journal(dir: string, cluster: string): any {
  try {
    return JSON.parse(readFileSync(join(dir, '.palisade', cluster, 'journal.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

/** Start an install, wait until the journal shows `host` running in the cluster phase, then send `signal`. */
async function interruptAt(dir: string, host: string, signal: NodeJS.Signals): Promise<Run> {
  const t0 = performance.now();
  const p = spawn(process.execPath, [cli, 'install', '-c', 'palisade.yaml', '--bundle', bundle, '--trusted-key', trustedKey, '--yes'], {
    cwd: dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const closed = new Promise<number>((res) => p.on('close', (code, sig) => res(code ?? (sig === 'SIGKILL' ? 137 : 1))));
  let sent = false;
  while (!sent && p.exitCode === null) {
    const j = journal(dir, 'lab');
    if (j?.phases?.cluster?.hosts?.[host]?.status === 'running') {
      p.kill(signal);
      sent = true;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const code = await closed;
  expect(sent, `the run ended before ${host} started in the cluster phase:\n${stderr}`).toBe(true);
  return { code, stdout, stderr, ms: performance.now() - t0 };
}

afterAll(() => cleanHosts(getLab().hosts.map((h) => h.name)));

const cluster4 = [
  { name: 'host1', role: 'controller' as const },
  { name: 'host2', role: 'controller' as const },
  { name: 'host3', role: 'controller' as const },
  { name: 'host4', role: 'worker' as const },
];
const names4 = cluster4.map((h) => h.name);
const dir4 = join(work, 'lab4');

beforeAll(() => {
  // a fresh start whatever ran before on the shared lab, and the same state left for what runs after
  cleanHosts(getLab().hosts.map((h) => h.name));
  mkdirSync(work, { recursive: true });
  const b = spawnSync(join(repo, 'scripts/bundle/build-test-bundle'), ['--work', join(work, 'bundle-work')], { encoding: 'utf8' });
  expect(b.status, b.stderr).toBe(0);
  bundle = /bundle: (\S+)/.exec(b.stdout)![1]!;
  trustedKey = /trusted key: (\S+)/.exec(b.stdout)![1]!;
  writeConfig(dir4, 'lab', cluster4);
});

describe('palisade install on the lab (3 controllers + 1 worker, tang)', () => {
  it('--dry-run prints the plan and changes nothing on any host or locally', async () => {
    const before = hostState(names4);
    const r = await install(dir4, '--dry-run');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/dry run: the install would/);
    expect(r.stdout).toMatch(/cluster: install k3s from the bundle on host1, host2, host3, host4/);
    expect(r.stdout).toMatch(/nothing was changed/);
    expect(hostState(names4)).toBe(before);
    expect(existsSync(join(dir4, '.palisade', 'lab', 'journal.json'))).toBe(false);
    expect(existsSync(join(dir4, '.palisade', 'lab', 'keystore'))).toBe(false);
  });

  it('installs everything: encrypted disks, registry, cluster, keys in the cluster, report', async () => {
    const r = await install(dir4);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    figures.full4Ms = r.ms;
    phaseTimes.full4 = durations(dir4, 'lab');
    expect(r.stdout).toMatch(/palisade appliance "lab" is installed and verified/);
    expect(r.stdout).toMatch(/API +https:\/\/palisade\.lab\.internal:6443/);
    const state = join(dir4, '.palisade', 'lab');
    const kc = readFileSync(join(state, 'kubeconfig'), 'utf8');
    expect(kc).toMatch(/server: https:\/\/palisade\.lab\.internal:6443/);
    expect(statSync(join(state, 'kubeconfig')).mode & 0o777).toBe(0o600);
    const report = JSON.parse(readFileSync(join(state, 'install-report.json'), 'utf8'));
    expect(report.verify.ok).toBe(true);
    expect(report.hosts).toHaveLength(4);
    // every node Ready, the secrets in palisade-system, secrets encryption on
    const nodes = labSsh('host1', 'k3s kubectl get nodes -o json');
    const items = JSON.parse(nodes.stdout).items as Array<{ metadata: { name: string } }>;
    expect(items.map((i) => i.metadata.name).sort()).toEqual(names4);
    const secrets = labSsh('host1', 'k3s kubectl get secrets -n palisade-system -o name');
    expect(secrets.stdout.split('\n').filter(Boolean).sort()).toEqual([
      'secret/palisade-ca',
      'secret/palisade-ingress-tls',
      'secret/palisade-registry',
      'secret/palisade-service-secrets',
    ]);
    // the join token never appears on a command line or in the unit, and config.yaml is 0600
    for (const n of names4) {
      const c = labSsh(
        n,
        'stat -c %a /etc/rancher/k3s/config.yaml; grep -c token /etc/systemd/system/k3s*.service; systemctl is-active k3s k3s-agent | grep -c "^active"',
      );
      expect(c.stdout.split('\n')[0]).toBe('600');
      expect(c.stdout.split('\n')[1]).toBe('0');
    }
    for (const n of names4) expect(labSsh(n, 'cryptsetup isLuks /dev/vdb && echo luks').stdout.trim()).toBe('luks');
    // locks released
    expect(existsSync(join(state, 'install.lock'))).toBe(false);
    for (const n of names4) expect(labSsh(n, 'test -e /etc/palisade/install.lock && echo held || echo free').stdout.trim()).toBe('free');
  });

  it('a re-run changes nothing and says "up to date"', async () => {
    const before = hostState(names4);
    const r = await install(dir4);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^up to date: nothing to change/m);
    expect(hostState(names4)).toBe(before);
    figures.noopMs = r.ms;
    const dry = await install(dir4, '--dry-run');
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^dry run: up to date; nothing would change/m);
    // neither --bundle nor --trusted-key: the bundle and key the journal records from the finished install
    const bare = await palisade(['install', '-c', 'palisade.yaml', '--dry-run'], dir4);
    expect(bare.code, bare.stderr).toBe(0);
    expect(bare.stderr + bare.stdout).toMatch(/planning with the bundle the last install ran from/);
    expect(bare.stdout).toMatch(/^dry run: up to date; nothing would change/m);
  });

  it('palisade status shows every host healthy', async () => {
    const r = await palisade(['status', '-c', 'palisade.yaml', '-o', 'json'], dir4);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.ok).toBe(true);
    expect(s.hosts.map((h: any) => `${h.name}:${h.service}:${h.ready}`)).toEqual(names4.map((n) => `${n}:active:true`));
  });

  it("the API on every controller serves palisade's certificates: s_client verifies with the palisade root alone; a real kubectl with palisade's kubeconfig lists the nodes", async () => {
    const root = await palisade(['keys', 'show', 'ca/root', '--pem', '-c', 'palisade.yaml'], dir4);
    expect(root.code, root.stderr).toBe(0);
    const rootFile = join(dir4, 'palisade-root.pem');
    writeFileSync(rootFile, root.stdout);
    const lab = getLab();
    for (const c of cluster4.filter((h) => h.role === 'controller')) {
      const address = lab.hosts.find((h) => h.name === c.name)!.address;
      const r = spawnSync(
        'sh',
        [
          '-c',
          `openssl s_client -connect ${address}:6443 -servername palisade.lab.internal -verify_hostname palisade.lab.internal -CAfile ${rootFile} -verify_return_error </dev/null 2>&1`,
        ],
        { encoding: 'utf8', timeout: 30_000 },
      );
      expect(r.stdout, `${c.name}: ${r.stdout}`).toMatch(/Verify return code: 0 \(ok\)/);
      expect(r.stdout).toMatch(/depth=1 O = palisade lab, CN = palisade lab cluster server CA/);
      expect(r.stdout).toMatch(/depth=2 O = palisade lab, CN = palisade lab root CA/);
    }
    // the kubeconfig names the FQDN, which this machine does not resolve: the address, verified as the FQDN (README "The lab")
    const kubectl = spawnSync('bash', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).stdout.trim();
    expect(kubectl, 'kubectl is needed on this machine (scripts/setup installs it)').not.toBe('');
    const host1 = lab.hosts.find((h) => h.name === 'host1')!.address;
    const k = spawnSync(
      kubectl,
      [
        '--kubeconfig',
        join(dir4, '.palisade', 'lab', 'kubeconfig'),
        '--server',
        `https://${host1}:6443`,
        '--tls-server-name',
        'palisade.lab.internal',
        'get',
        'nodes',
        '-o',
        'name',
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(k.status, k.stderr).toBe(0);
    expect(k.stdout.split('\n').filter(Boolean).sort()).toEqual(names4.map((n) => `node/${n}`));
    // the report and status list the cluster's CAs, in use, and not the API leaf nothing serves
    const report = JSON.parse(readFileSync(join(dir4, '.palisade', 'lab', 'install-report.json'), 'utf8'));
    const names = report.certificates.map((c: { name: string }) => c.name);
    expect(names).toEqual(expect.arrayContaining(['ca/root', 'ca/cluster/server', 'ca/cluster/client', 'tls/registry']));
    expect(names).not.toContain('tls/api');
    // a joining node checks the first controller's CA against the root before it sends the secret
    expect(labSsh('host2', 'grep -c "^token: \\"K10[0-9a-f]\\{64\\}::server:" /etc/rancher/k3s/config.yaml').stdout.trim()).toBe('1');
  });

  it('palisade preflight on the healthy installed appliance exits 0: its own disks, ports and services are in use by it, not failures', async () => {
    const r = await palisade(['preflight', '-c', 'palisade.yaml', '-o', 'json'], dir4);
    const report = JSON.parse(r.stdout);
    const failed = report.findings
      .filter((f: { status: string }) => f.status === 'fail')
      .map((f: { host: string; id: string; measured: string }) => `${f.host} ${f.id}: ${f.measured}`);
    expect(failed).toEqual([]);
    expect(r.code, r.stderr).toBe(0);
    const byId = (host: string, id: string) => report.findings.find((f: { host: string; id: string }) => f.host === host && f.id === id);
    expect(byId('host1', 'ports.free')).toMatchObject({ status: 'pass', measured: expect.stringMatching(/in use by the appliance: .*6443 \(k3s API\)/) });
    expect(byId('host1', 'ports.free').measured).toMatch(/5000 \(pack registry\)/);
    for (const n of names4)
      expect(byId(n, 'disk.empty'), n).toMatchObject({
        status: 'pass',
        measured: expect.stringMatching(/in use by the appliance: the appliance's LUKS2 volume/),
      });
    const text = await palisade(['preflight', '-c', 'palisade.yaml'], dir4);
    expect(text.code, text.stdout).toBe(0);
    expect(text.stdout).not.toMatch(/wipefs|stop what listens/);
  });

  it('scans of the installed cluster: compliance and conformance pass; a deleted pull secret fails conformance by name, and the next install puts it back', async () => {
    type Finding = { check: string; host: string; status: string; detail: string };
    const scan = async (type: string): Promise<{ id: string; findings: Finding[] }> => {
      const r = await palisade(['scan', 'run', '--type', type, '-c', 'palisade.yaml', '--output', 'json'], dir4);
      try {
        return JSON.parse(r.stdout);
      } catch {
        throw new Error(`scan run --type ${type} exit ${r.code}: ${r.stderr}`);
      }
    };
    const comp = await scan('compliance');
    const k8s = comp.findings.filter((f) => f.check.startsWith('k8s.'));
    // the cluster's settings on every controller, each read from the host and passing
    for (const c of ['host1', 'host2', 'host3']) {
      expect(
        k8s
          .filter((f) => f.host === c)
          .map((f) => `${f.check}:${f.status}`)
          .sort(),
        c,
      ).toEqual(['k8s.anonymous-auth:pass', 'k8s.api-certificate:pass', 'k8s.rbac:pass', 'k8s.secrets-encryption:pass']);
    }
    expect(k8s.find((f) => f.host === 'host1' && f.check === 'k8s.api-certificate')?.detail).toMatch(/^valid: .* \(\d+ days, \d+ left\)$/);
    // the hardening the install did shows as rules passing on every host
    for (const n of names4) expect(comp.findings.find((f) => f.host === n && f.check === 'ssh.max-sessions')?.status, n).toBe('pass');

    const all = ['api.reachable:pass', 'api.namespaces:pass', 'api.secret-roundtrip:pass', 'api.registry-pull-secret:pass', 'api.nodes-ready:pass'];
    const good = await scan('conformance');
    expect(good.findings.map((f) => `${f.check}:${f.status}`)).toEqual(all);
    expect(good.findings.find((f) => f.check === 'api.nodes-ready')?.detail).toBe('4 node(s) Ready');

    expect(labSsh('host1', 'k3s kubectl delete secret palisade-registry -n palisade-system').code).toBe(0);
    const broken = await scan('conformance');
    expect(broken.findings.find((f) => f.check === 'api.registry-pull-secret')).toMatchObject({
      status: 'fail',
      detail: 'no Secret palisade-system/palisade-registry',
    });
    expect(broken.findings.filter((f) => f.status === 'fail').map((f) => f.check)).toEqual(['api.registry-pull-secret']);
    const d = JSON.parse((await palisade(['scan', 'diff', good.id, broken.id, '--output', 'json'], dir4)).stdout) as { newlyFailing: Finding[] };
    expect(d.newlyFailing.map((f) => f.check)).toEqual(['api.registry-pull-secret']);

    const mend = await install(dir4);
    expect(mend.code, mend.stderr).toBe(0);
    expect((await scan('conformance')).findings.map((f) => `${f.check}:${f.status}`)).toEqual(all);
  });

  it('a host changed by hand is noticed and put back', async () => {
    labSsh('host3', "sed -i '/ # palisade$/d' /etc/hosts");
    const r = await install(dir4, '--output', 'json');
    expect(r.code, r.stderr).toBe(0);
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events).toContainEqual(expect.objectContaining({ phase: 'prepare', host: 'host3', status: 'done' }));
    expect(events).toContainEqual(expect.objectContaining({ phase: 'prepare', host: 'host1', status: 'skipped' }));
    expect(events.at(-1)).toMatchObject({ phase: 'install', status: 'done' });
    expect(labSsh('host3', 'grep -c "palisade.lab.internal # palisade$" /etc/hosts').stdout.trim()).toBe('1');
  });

  it('Ctrl-C in the cluster phase stops between steps, releases the locks, and the next run resumes', async () => {
    uninstallCluster(names4);
    const r = await interruptAt(dir4, 'host2', 'SIGINT');
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/interrupted/);
    expect(existsSync(join(dir4, '.palisade', 'lab', 'install.lock'))).toBe(false);
    for (const n of names4) expect(labSsh(n, 'test -e /etc/palisade/install.lock && echo held || echo free').stdout.trim()).toBe('free');
    const j = journal(dir4, 'lab');
    expect(j.phases.cluster.status).toBe('failed');
    expect(j.phases.cluster.hosts.host1.status).toBe('done');
    const again = await install(dir4);
    expect(again.code, again.stderr + again.stdout).toBe(0);
    expect(again.stdout).toMatch(/installed and verified/);
    expect(journal(dir4, 'lab').phases.cluster.status).toBe('done');
  });

  it('SIGKILL in the cluster phase leaves stale locks; the next run takes them over and completes', async () => {
    uninstallCluster(names4);
    const r = await interruptAt(dir4, 'host1', 'SIGKILL');
    expect(r.code).toBe(137);
    expect(existsSync(join(dir4, '.palisade', 'lab', 'install.lock'))).toBe(true);
    expect(labSsh('host1', 'test -e /etc/palisade/install.lock && echo held || echo free').stdout.trim()).toBe('held');
    const again = await install(dir4);
    expect(again.code, again.stderr + again.stdout).toBe(0);
    expect(again.stderr).toMatch(/took over a stale lock/);
    expect(again.stdout).toMatch(/installed and verified/);
    const nodes = JSON.parse(labSsh('host1', 'k3s kubectl get nodes -o json').stdout).items as unknown[];
    expect(nodes).toHaveLength(4);
  });
  it('a host that goes down mid-run fails with a message naming it; the run after it is back completes', async () => {
    const cfgPath = join(dir4, 'palisade.yaml');
    const original = readFileSync(cfgPath, 'utf8');
    const c = parse(original) as Record<string, any>;
    c.ssh = { ...c.ssh, keepaliveSeconds: 2 }; // find the dead host in seconds, not minutes
    writeFileSync(cfgPath, stringify(c));
    const ns = getLab().hosts.find((h) => h.name === 'host4')!.netns;
    const link = (state: 'up' | 'down') => expect(spawnSync('ip', ['-n', ns, 'link', 'set', 'eth0', state]).status).toBe(0);
    try {
      uninstallCluster(names4);
      const t0 = performance.now();
      const p = spawn(process.execPath, [cli, 'install', '-c', 'palisade.yaml', '--bundle', bundle, '--trusted-key', trustedKey, '--yes'], {
        cwd: dir4,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      p.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const closed = new Promise<number>((res) => p.on('close', (code) => res(code ?? 1)));
      let downed = false;
      while (p.exitCode === null && !downed) {
        if (journal(dir4, 'lab')?.phases?.cluster?.hosts?.host1?.status === 'running') {
          link('down');
          downed = true;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(downed, out).toBe(true);
      const code = await closed;
      expect(code, out).toBe(1);
      expect(out).toMatch(/host4/);
      expect(journal(dir4, 'lab').phases.cluster.hosts.host4.status).toBe('failed');
      expect(performance.now() - t0).toBeLessThan(240_000);
    } finally {
      link('up');
    }
    const again = await install(dir4);
    expect(again.code, again.stderr + again.stdout).toBe(0);
    expect(again.stdout).toMatch(/installed and verified/);
    writeFileSync(cfgPath, original);
  });
});

describe("an appliance installed before palisade provided the cluster CAs (on k3s's own)", () => {
  it('a re-run leaves its CAs as they are, joins with the short token, completes, and the report says so', async () => {
    // what such an install looks like: the first controller started without CA files and made its own
    for (const n of names4) labSsh(n, 'systemctl stop k3s k3s-agent 2>/dev/null; true');
    for (const n of names4.slice(0, 3)) {
      const r = labSsh(
        n,
        'cd /var/lib/rancher/k3s/server/tls && rm -f server-ca.* client-ca.* request-header-ca.* etcd/peer-ca.* etcd/server-ca.* *.sans && rm -f /var/lib/rancher/k3s/agent/server-ca.crt',
      );
      expect(r.code, r.stderr).toBe(0);
    }
    expect(labSsh('host1', 'systemctl start k3s && openssl x509 -in /var/lib/rancher/k3s/server/tls/server-ca.crt -noout -subject').stdout).toMatch(
      /k3s-server-ca@/,
    );
    // its kubeconfig came from that cluster (this one was issued under palisade's client CA)
    rmSync(join(dir4, '.palisade', 'lab', 'kubeconfig'));
    const r = await install(dir4);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toMatch(/installed and verified/);
    expect(r.stdout).toMatch(/runs on the CAs k3s made itself/);
    const report = JSON.parse(readFileSync(join(dir4, '.palisade', 'lab', 'install-report.json'), 'utf8'));
    expect(report.certificates.map((c: { name: string }) => c.name).filter((n: string) => n.startsWith('ca/cluster/'))).toEqual([]);
    // nothing of palisade's was put in: the first controller's CA is still its own, the joiners' token the short one
    expect(labSsh('host1', 'openssl x509 -in /var/lib/rancher/k3s/server/tls/server-ca.crt -noout -subject').stdout).toMatch(/k3s-server-ca@/);
    expect(labSsh('host2', 'grep -c "^token: \\"K10" /etc/rancher/k3s/config.yaml; true').stdout.trim()).toBe('0');
    const again = await install(dir4);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^up to date/m);
  });
});

describe('palisade install on a single host', () => {
  it('installs one controller (registry, cluster, keys) and re-runs as a no-op', async () => {
    const lab = getLab();
    // a fresh host behind the jump host (host5: only SSH reaches it, so the registry health check,
    // the seed and the API check go through its SSH connection); else any fresh host; else host4,
    // taken out of the 3+1 cluster and its disk formatted anew
    const fresh = lab.hosts.filter((h) => !names4.includes(h.name));
    const solo = fresh.find((h) => h.behind) ?? fresh[0];
    const target = solo?.name ?? 'host4';
    if (!solo) uninstallCluster(names4);
    const dir = join(work, 'solo');
    // the lab points the FQDN at host1 in every /etc/hosts; the prepare phase points it at this host
    writeConfig(dir, 'solo', [{ name: target, role: 'controller' }], ['dns.fqdn']);
    if (!solo) {
      const c = parse(readFileSync(join(dir, 'palisade.yaml'), 'utf8')) as Record<string, any>;
      c.encryption.wipe = true; // its disk holds the 3+1 cluster's LUKS header, whose key is in that cluster's keystore
      writeFileSync(join(dir, 'palisade.yaml'), stringify(c));
    }
    const r = await install(dir);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toMatch(/palisade appliance "solo" is installed and verified/);
    if (solo) figures.full1Ms = r.ms;
    phaseTimes.full1 = durations(dir, 'solo');
    const again = await install(dir);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^up to date/m);
    mkdirSync(join(repo, '.cache', 'bench'), { recursive: true });
    const out = {
      ...figures,
      ratio4to1: figures.full1Ms ? figures.full4Ms! / figures.full1Ms : undefined,
      noopFraction: figures.noopMs! / figures.full4Ms!,
      phases: phaseTimes,
      at: new Date().toISOString(),
    };
    writeFileSync(join(repo, '.cache', 'bench', 'install.json'), JSON.stringify(out, null, 2));
    process.stderr.write(`install figures: ${JSON.stringify(out)}\n`);
  });
});
