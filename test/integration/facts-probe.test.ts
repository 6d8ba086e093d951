import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { cpus, hostname, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gatherFacts } from '../../installer/facts/index.ts';
import { parseProbeOutput } from '../../installer/facts/parse.ts';
import { clockSkew } from '../../installer/preflight/checks.ts';
import { probeScript } from '../../installer/facts/probe.ts';
import type { ExecOptions, ExecResult, RemoteHost } from '../../installer/hosts/types.ts';

/** Test fixture: a RemoteHost that runs the command with this machine's POSIX /bin/sh (dash on Debian). */
class ShHost implements RemoteHost {
  execs = 0;
  constructor(
    readonly name = 'local',
    readonly address = '127.0.0.1',
    private readonly wrap: (cmd: string) => [string, string[]] = (c) => ['/bin/sh', ['-c', c]],
  ) {}
  exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    this.execs++;
    const [bin, args] = this.wrap(command);
    return new Promise((resolve, reject) => {
      const p = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (c: Buffer) => {
        opts.onStdout?.(c);
        stdout += c.toString();
      });
      p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      p.on('error', reject);
      p.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    });
  }
  async upload(): Promise<void> {
    throw new Error('not used');
  }
  async close(): Promise<void> {}
}

describe('the probe script', () => {
  it('is POSIX sh (dash parses it) and never sends traffic (no ping, curl, wget, nc)', () => {
    const s = probeScript({ fqdn: 'palisade.example.internal', dataDisk: '/dev/sdb' });
    expect(spawnSync('/bin/sh', ['-n', '-c', s]).status).toBe(0);
    expect(s).not.toMatch(/\b(ping|curl|wget|nc|ncat|nslookup|dig)\b/);
    expect(s).toMatch(/ip route get 1\.1\.1\.1/);
  });

  it('quotes the FQDN and disk it is given', () => {
    const s = probeScript({ fqdn: "x.example; touch /tmp/pwned'", dataDisk: '/dev/sd b' });
    expect(s).toContain(`getent ahosts 'x.example; touch /tmp/pwned'\\'''`);
    expect(s).toContain(`d='/dev/sd b'`);
  });
});

describe('gatherFacts on this machine through /bin/sh', () => {
  it('one exec, facts that agree with what Node sees, clock bracketed', async () => {
    const host = new ShHost();
    const f = await gatherFacts(host, { fqdn: 'localhost', dataDisk: '/dev/vda' });
    expect(host.execs).toBe(1);
    expect(f.hostname).toBe(hostname());
    expect(f.os.kernel).toBe(release());
    expect(f.memory.totalBytes).toBe(totalmem());
    expect(f.cpu.threads).toBeLessThanOrEqual(cpus().length);
    expect(f.cpu.threads).toBeGreaterThan(0);
    expect(f.time.epochMs! + 5).toBeGreaterThanOrEqual(f.time.sentAtMs!);
    expect(f.time.epochMs!).toBeLessThanOrEqual(f.time.receivedAtMs! + 5);
    expect(f.fqdn.addresses).toContain('127.0.0.1');
    expect(f.routes.publicProbes).toHaveLength(5);
    expect(f.diskLatency?.p99Ms).toBeGreaterThan(0);
    expect(f.nics.some((n) => n.loopback)).toBe(true);
  });

  it('a probe that does not finish is an error, not half the facts', async () => {
    const host = new ShHost('broken', '127.0.0.1', () => ['/bin/sh', ['-c', 'echo "==== clock ===="; echo 1; exit 3']]);
    await expect(gatherFacts(host, { fqdn: 'localhost' })).rejects.toMatchObject({ code: 'facts.probe', message: expect.stringMatching(/exit 3/) });
  });
});

// Hide tools with bind mounts in a private mount namespace (root only): the probe must still finish.
const canUnshare = spawnSync('unshare', ['-m', 'true']).status === 0;
describe.skipIf(!canUnshare)('missing tools (a private mount namespace hides them)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-probe-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const stub = join(dir, 'missing');
  writeFileSync(stub, '#!/bin/sh\necho "$0: command not found" >&2\nexit 127\n');
  chmodSync(stub, 0o755);
  const which = (t: string) => {
    try {
      return execFileSync('sh', ['-c', `PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin command -v ${t}`], { encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  };
  const hidden = ['lsblk', 'ss', 'ip', 'fio', 'chronyc', 'timedatectl', 'getent', 'tpm2_getcap', 'blkid', 'blockdev', 'modprobe'].map(which).filter(Boolean);

  it('lsblk, ss, ip, fio, ... all failing: the probe ends, falls back (sysfs, /proc/net/tcp, dd) and notes the rest', () => {
    const script = probeScript({ fqdn: 'localhost', dataDisk: '/dev/vda', latencySeconds: 1 });
    writeFileSync(join(dir, 'probe.sh'), script);
    const binds = hidden.map((p) => `mount --bind ${stub} ${p}`).join(' && ');
    const out = execFileSync('unshare', ['-m', 'sh', '-c', `${binds} && sh ${join(dir, 'probe.sh')}`], { encoding: 'utf8', timeout: 60_000 });
    const f = parseProbeOutput(out, { name: 'bare', fqdn: 'localhost', dataDisk: '/dev/vda' });
    expect(f.hostname).toBe(hostname());
    expect(f.disks).toEqual([]);
    expect(f.notes).toContain('disks: lsblk printed nothing (not installed?)');
    // ss missing: /proc/net/tcp still lists the listeners
    expect(f.listeningPorts).toBeDefined();
    // ip missing: NICs from /sys/class/net, routes unknown
    expect(f.nics.find((n) => n.name === 'lo')).toMatchObject({ loopback: true });
    expect(f.routes.publicProbes.every((p) => !p.routable)).toBe(true);
    expect(f.fqdn.addresses).toEqual([]);
    // fio missing: the dd loop measured instead
    expect(f.diskLatency).toMatchObject({ method: 'dd' });
    expect(f.diskLatency!.samples).toBeGreaterThanOrEqual(5);
    // the data disk size from sysfs when blockdev is missing
    expect(f.dataDisk?.sizeBytes).toBeGreaterThan(0);
  });
});

describe('the clock bracket', () => {
  it('holds the true offset when the host clock is slow to read (nothing is printed before the clock is read)', async () => {
    // a host clock 2.5 s ahead whose `date` takes 300 ms to answer: output sent before the
    // read would start the bracket too early and put the offset below it
    const dir = mkdtempSync(join(tmpdir(), 'palisade-slow-date-'));
    try {
      const real = execFileSync('sh', ['-c', 'command -v date'], { encoding: 'utf8' }).trim();
      writeFileSync(join(dir, 'date'), `#!/bin/sh\nsleep 0.3\nns=$(${real} +%s%N)\necho $((ns + 2500000000))\n`);
      chmodSync(join(dir, 'date'), 0o755);
      const host = new ShHost('slow', '127.0.0.1', (c) => ['/bin/sh', ['-c', c.replace('export LC_ALL=C PATH=', `export LC_ALL=C PATH=${dir}:`)]]);
      const f = await gatherFacts(host, { fqdn: 'localhost', diskLatency: false });
      const s = clockSkew(f)!;
      expect(s, JSON.stringify(f.time)).toBeDefined();
      expect(s.lowMs).toBeLessThanOrEqual(2500 + 5);
      expect(s.highMs).toBeGreaterThanOrEqual(2500 - 5);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
