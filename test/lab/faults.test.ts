/**
 * The fault matrix on the lab: `palisade install --output json` (1 controller + 1 worker, tang
 * disks, hardening) is SIGKILLed at the start of every phase that has work and in the middle of
 * every per-host step of the encrypt, registry, seed and cluster phases, and SIGINTed at some of
 * the same points. Every point is picked from the run's own JSON events, never from a timer. Each
 * time the same command resumes and must finish in that one run, the run after must be "up to
 * date", and status healthy. Between points only what the next point needs is undone (a disk
 * wiped, a service stopped), so the install is not repeated from scratch. Then a host's link cut
 * in the middle of an upload. Figures go to .cache/bench/faults.json (BENCHMARKS.md "Fault matrix").
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getLab, labHost, labSsh } from './lab.ts';

const repo = resolve(import.meta.dirname, '../..');
const cli = join(repo, 'installer/bin/palisade.js');
const work = join(repo, '.cache', 'lab-faults', String(process.pid));
const dir = join(work, 'install');
const env = { ...process.env, PALISADE_PASSPHRASE: 'lab faults passphrase 42', CI: '1' };
const HOSTS = ['host1', 'host2'] as const;
const REGISTRY_BINARY = '/usr/local/lib/palisade/registry';
const REGISTRY_STORAGE = '/var/lib/palisade/registry';

interface Event {
  phase: string;
  host?: string;
  status: string;
  message?: string;
  kind?: string;
}
interface Run {
  code: number;
  signal: NodeJS.Signals | null;
  events: Event[];
  stdout: string;
  stderr: string;
  ms: number;
  /** the event the run was interrupted at */
  at?: Event;
}

let bundle = '';
let trustedKey = '';
const installArgs = () => ['install', '-c', 'palisade.yaml', '--bundle', bundle, '--trusted-key', trustedKey, '--yes', '--output', 'json'];

/**
 * Run `palisade args` in the install dir, reading its JSON events as they come; `onEvent` may act
 * on the process (send a signal, cut a link) and returns true once it has.
 */
function palisade(args: string[], onEvent?: (e: Event, p: ChildProcess) => boolean): Promise<Run> {
  return new Promise((res) => {
    const t0 = performance.now();
    const p = spawn(process.execPath, [cli, ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const events: Event[] = [];
    let stdout = '';
    let stderr = '';
    let partial = '';
    let at: Event | undefined;
    p.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      const lines = (partial + c.toString()).split('\n');
      partial = lines.pop()!;
      for (const l of lines) {
        let e: Event;
        try {
          e = JSON.parse(l) as Event;
        } catch {
          continue; // the closing document of a failed run spans several lines
        }
        events.push(e);
        if (!at && onEvent?.(e, p)) at = e;
      }
    });
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    p.on('close', (code, signal) => res({ code: code ?? 128, signal, events, stdout, stderr, ms: performance.now() - t0, ...(at ? { at } : {}) }));
  });
}

const install = (onEvent?: (e: Event, p: ChildProcess) => boolean) => palisade(installArgs(), onEvent);
const last = (r: Run) => r.events.filter((e) => e.phase === 'install').at(-1);
const tell = (r: Run) =>
  `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}\n--- events\n${r.events
    .filter((e) => e.status !== 'progress' || !/blobs the registry lacks/.test(e.message ?? ''))
    .map((e) => JSON.stringify(e))
    .join('\n')}\n--- stderr\n${r.stderr.slice(-4000)}`;

function ssh(host: string, script: string): string {
  const r = labSsh(host, script, { timeoutMs: 120_000 });
  expect(r.code, `${host}: ${script}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

/** A config for host1 (controller, registry) + host2 (worker) from the lab's palisade.yaml. */
function writeConfig(): void {
  mkdirSync(dir, { recursive: true });
  const c = parse(readFileSync(getLab().configPath, 'utf8')) as Record<string, any>;
  c.cluster.name = 'lab';
  c.hosts = (c.hosts as any[])
    .filter((h) => (HOSTS as readonly string[]).includes(h.name))
    .map((h) => ({ ...h, role: h.name === 'host1' ? 'controller' : 'worker' }));
  // as in the install lab test: no NTP on the lab hosts, a default route on this machine, loop-file disks
  c.preflight = { ignore: [...new Set([...(c.preflight?.ignore ?? []), 'time.sync', 'airgap.route', 'disk.latency'])] };
  // a cheap key-slot KDF (the matrix formats disks many times on two shared cores)
  c.encryption = { ...c.encryption, iterTimeMs: 100, pbkdfMemoryKiB: 32768 };
  // a cut link is noticed in seconds, not minutes
  c.ssh = { ...c.ssh, keepaliveSeconds: 2 };
  writeFileSync(join(dir, 'palisade.yaml'), stringify(c));
}

/** Leave a host as the lab made it: no cluster, no registry, no palisade files, a blank data disk. */
function cleanHost(n: string): void {
  ssh(
    n,
    [
      'systemctl stop k3s k3s-agent palisade-registry 2>/dev/null; systemctl disable k3s k3s-agent palisade-registry >/dev/null 2>&1',
      `rm -rf /etc/rancher/k3s /var/lib/rancher/k3s /usr/local/bin/k3s /etc/systemd/system/k3s.service /etc/systemd/system/k3s-agent.service /etc/systemd/system/palisade-registry.service /etc/palisade /usr/local/lib/palisade ${REGISTRY_STORAGE} /etc/sysctl.d/90-palisade.conf /etc/modules-load.d/palisade.conf /run/palisade`,
      "sed -i -E '/ # palisade$/d; s/^# (.*) # palisade: replaced$/\\1/' /etc/hosts; if [ -f /etc/crypttab ]; then sed -i '/^palisade-/d' /etc/crypttab; fi; systemctl daemon-reload",
      'wipefs -a -q /dev/vdb 2>/dev/null; dd if=/dev/zero of=/dev/vdb bs=1M count=20 conv=fsync status=none; true',
    ].join('\n'),
  );
}

/** Undo one host's disk: palisade finds it blank and formats and binds it again. */
const wipeDisk = (n: string) => ssh(n, 'wipefs -a -q /dev/vdb; dd if=/dev/zero of=/dev/vdb bs=1M count=20 conv=fsync status=none');
const uninstallCluster = (names: readonly string[]) => {
  for (const n of names)
    ssh(
      n,
      'systemctl stop k3s k3s-agent 2>/dev/null; systemctl disable k3s k3s-agent >/dev/null 2>&1; rm -rf /etc/rancher/k3s /var/lib/rancher/k3s /usr/local/bin/k3s /etc/systemd/system/k3s.service /etc/systemd/system/k3s-agent.service; systemctl daemon-reload',
    );
};
const emptyRegistry = () => ssh('host1', `systemctl stop palisade-registry; rm -rf ${REGISTRY_STORAGE}/docker; systemctl start palisade-registry`);

/** Every binding of a host's disk as clevis lists it (one line each). */
const bindings = (n: string) => ssh(n, 'clevis luks list -d /dev/vdb').trim().split('\n').filter(Boolean);

type When = (e: Event, seen: readonly Event[]) => boolean;
interface Point {
  name: string;
  signal: NodeJS.Signals;
  /** put back just enough for the point's phase to have work */
  reset: () => void;
  at: When;
  /** checks after the resume, beyond the common ones */
  after?: () => void;
}

/** The phase's first step begins (a whole phase, or its first host). */
const startOf =
  (phase: string): When =>
  (e) =>
    e.phase === phase && e.status === 'running';
/** A progress line of `phase` matching `line`. */
const progressOf =
  (phase: string, line: RegExp): When =>
  (e) =>
    e.phase === phase && e.status === 'progress' && line.test(e.message ?? '');
/** The seed's progress line once a third of the blobs are in, before the last one. */
const seedHalfway: When = (e) => {
  const m = e.phase === 'seed' && e.status === 'progress' ? /blobs the registry lacks (\d+)\/(\d+)/.exec(e.message ?? '') : null;
  return !!m && Number(m[1]) * 3 >= Number(m[2]) && Number(m[1]) < Number(m[2]);
};
/** In the cluster phase, the first progress line of `host`'s own step. */
const clusterStepOf = (host: string): When => {
  let inStep = false;
  return (e) => {
    if (e.phase === 'cluster' && e.host === host && e.status === 'running') inStep = true;
    return inStep && e.phase === 'cluster' && e.status === 'progress' && e.kind === 'output' && (e.message ?? '').startsWith(`${host}: `);
  };
};

const nothing = () => undefined;
const fresh = () => {
  for (const n of HOSTS) cleanHost(n);
  rmSync(join(dir, '.palisade'), { recursive: true, force: true });
};
const oneBindingEach = () => {
  for (const n of HOSTS) expect(bindings(n), n).toHaveLength(1);
};

const K: NodeJS.Signals = 'SIGKILL';
const I: NodeJS.Signals = 'SIGINT';
const POINTS: Point[] = [
  // phases that have work only on a first install: from a clean lab each
  { name: 'start of facts', signal: K, reset: fresh, at: startOf('facts') },
  { name: 'start of preflight', signal: K, reset: fresh, at: startOf('preflight') },
  { name: 'start of keys', signal: K, reset: fresh, at: startOf('keys') },
  // the others: on the installed appliance, with just their own work undone
  { name: 'start of bundle', signal: K, reset: nothing, at: startOf('bundle') },
  { name: 'start of connect', signal: K, reset: nothing, at: startOf('connect') },
  { name: 'start of prepare', signal: K, reset: () => ssh('host2', 'rm -f /etc/sysctl.d/90-palisade.conf'), at: startOf('prepare') },
  { name: 'start of harden', signal: K, reset: () => ssh('host2', 'rm -f /etc/issue.net'), at: startOf('harden') },
  { name: 'start of encrypt', signal: K, reset: () => wipeDisk('host2'), at: startOf('encrypt'), after: oneBindingEach },
  { name: 'start of registry', signal: K, reset: () => ssh('host1', 'systemctl stop palisade-registry'), at: startOf('registry') },
  { name: 'start of seed', signal: K, reset: emptyRegistry, at: startOf('seed') },
  { name: 'start of cluster', signal: K, reset: () => uninstallCluster(['host2']), at: startOf('cluster') },
  { name: 'start of secrets', signal: K, reset: () => ssh('host1', 'k3s kubectl delete secret palisade-ca -n palisade-system'), at: startOf('secrets') },
  { name: 'start of verify', signal: K, reset: nothing, at: startOf('verify') },
  { name: 'start of report', signal: K, reset: nothing, at: startOf('report') },
  // the middle of each host's step
  {
    name: 'encrypt host1, while clevis binds',
    signal: K,
    reset: () => wipeDisk('host1'),
    at: progressOf('encrypt', /^host1 \/dev\/vdb: formatted/),
    after: oneBindingEach,
  },
  {
    name: 'encrypt host2, while cryptsetup formats',
    signal: K,
    reset: () => wipeDisk('host2'),
    at: progressOf('encrypt', /^host2 \/dev\/vdb: escrowed/),
    after: oneBindingEach,
  },
  {
    name: 'registry host1, while its binary uploads',
    signal: K,
    reset: () => ssh('host1', `systemctl stop palisade-registry; rm -f ${REGISTRY_BINARY}`),
    at: progressOf('registry', /^host1: uploading /),
  },
  { name: 'seed, a third of the way through the blobs', signal: K, reset: emptyRegistry, at: seedHalfway },
  { name: 'cluster host1 (first controller), while k3s starts', signal: K, reset: () => uninstallCluster(HOSTS), at: clusterStepOf('host1') },
  { name: 'cluster host2 (worker), while k3s-agent starts', signal: K, reset: () => uninstallCluster(['host2']), at: clusterStepOf('host2') },
  // Ctrl-C at some of the same points
  {
    name: 'encrypt host2, while clevis binds',
    signal: I,
    reset: () => wipeDisk('host2'),
    at: progressOf('encrypt', /^host2 \/dev\/vdb: formatted/),
    after: oneBindingEach,
  },
  { name: 'seed, a third of the way through the blobs', signal: I, reset: emptyRegistry, at: seedHalfway },
  { name: 'cluster host2 (worker), while k3s-agent starts', signal: I, reset: () => uninstallCluster(['host2']), at: clusterStepOf('host2') },
];

const figures: { points: Array<{ name: string; signal: string; killedMs: number; resumeMs: number; upToDateMs: number }>; totalMs?: number } = { points: [] };
const t0 = performance.now();

beforeAll(() => {
  mkdirSync(work, { recursive: true });
  // no bin/palisade: an install never uses it, and every one of the ~70 runs would hash its 100 MiB
  const b = spawnSync(join(repo, 'scripts/bundle/build-test-bundle'), ['--work', join(work, 'bundle-work'), '--no-executable'], { encoding: 'utf8' });
  expect(b.status, b.stderr).toBe(0);
  bundle = /bundle: (\S+)/.exec(b.stdout)![1]!;
  trustedKey = /trusted key: (\S+)/.exec(b.stdout)![1]!;
  writeConfig();
});

afterAll(() => {
  for (const n of HOSTS) cleanHost(n);
  figures.totalMs = performance.now() - t0;
  mkdirSync(join(repo, '.cache', 'bench'), { recursive: true });
  writeFileSync(join(repo, '.cache', 'bench', 'faults.json'), JSON.stringify({ ...figures, at: new Date().toISOString() }, null, 2));
  process.stderr.write(`fault matrix: ${figures.points.length} point(s) in ${(figures.totalMs / 1000).toFixed(0)} s\n`);
});

describe('the fault matrix: interrupted at every phase start and mid-step, the same command resumes in one run', () => {
  for (const pt of POINTS) {
    it(`${pt.signal} at ${pt.name}`, async () => {
      pt.reset();
      const seen: Event[] = [];
      const killed = await install((e, p) => {
        seen.push(e);
        if (!pt.at(e, seen)) return false;
        p.kill(pt.signal);
        return true;
      });
      expect(killed.at, `the run never reached ${pt.name}:\n${tell(killed)}`).toBeDefined();
      if (pt.signal === 'SIGKILL') expect(killed.signal, tell(killed)).toBe('SIGKILL');
      else expect(killed.code, tell(killed)).toBe(130);

      const resumed = await install();
      expect(resumed.code, `the resume did not finish in one run:\n${tell(resumed)}`).toBe(0);
      expect(last(resumed)?.status).toMatch(/^(done|up-to-date)$/);
      const again = await install();
      expect(again.code, tell(again)).toBe(0);
      expect(last(again)?.status, `the run after the resume still had work:\n${tell(again)}`).toBe('up-to-date');
      const st = await palisade(['status', '-c', 'palisade.yaml', '-o', 'json']);
      expect(st.code, st.stderr).toBe(0);
      const s = JSON.parse(st.stdout);
      expect(s.ok, st.stdout).toBe(true);
      expect(s.hosts.map((h: any) => `${h.name}:${h.service}:${h.ready}`)).toEqual(['host1:active:true', 'host2:active:true']);
      pt.after?.();
      figures.points.push({
        name: pt.name,
        signal: pt.signal,
        killedMs: Math.round(killed.ms),
        resumeMs: Math.round(resumed.ms),
        upToDateMs: Math.round(again.ms),
      });
    });
  }
});

describe('a host whose link is cut in the middle of an upload', () => {
  it('fails naming the host; once the link is back the same command completes', async () => {
    const ns = labHost('host1').netns;
    const link = (state: 'up' | 'down') => expect(spawnSync('ip', ['-n', ns, 'link', 'set', 'eth0', state]).status).toBe(0);
    ssh('host1', `systemctl stop palisade-registry; rm -f ${REGISTRY_BINARY}`);
    let cut: Run;
    try {
      cut = await install((e) => {
        if (!progressOf('registry', /^host1: uploading /)(e, [])) return false;
        link('down');
        return true;
      });
    } finally {
      link('up');
    }
    expect(cut.at, `the upload never started:\n${tell(cut)}`).toBeDefined();
    expect(cut.code, tell(cut)).toBe(1);
    const failed = cut.events.find((e) => e.phase === 'registry' && e.status === 'failed');
    expect(failed?.message, tell(cut)).toMatch(/host1/);
    expect(cut.stderr).toMatch(/host1/);
    const resumed = await install();
    expect(resumed.code, tell(resumed)).toBe(0);
    expect(ssh('host1', `test -x ${REGISTRY_BINARY} && systemctl is-active palisade-registry`).trim()).toBe('active');
    const again = await install();
    expect(last(again)?.status, tell(again)).toBe('up-to-date');
  });
});
