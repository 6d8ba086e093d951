/**
 * Preflight against real hosts (nspawn machines with OpenSSH, loop data disks, swtpm).
 *
 * The planted problems need hosts of their own (a disk of another size, a filesystem, a
 * skewed clock), so this file brings up a private 3-host lab beside the shared one:
 *   host1: a 1 GiB data disk where the config asks for 2 GB      -> disk.size fails
 *   host2: ext4 on its data disk (and, in one test, mounted)     -> disk.empty (disk.unmounted) fails
 *   host3: a clock 2.5 s ahead                                   -> time.skew fails
 * The lab hosts share this machine's kernel clock, and a time namespace does not move
 * CLOCK_REALTIME, so host3's skew is a faked probe clock: a `date` in /usr/local/bin (first
 * on the probe's PATH) that adds 2.5 s to `date +%s%N`. Everything else the probe reads is real.
 *
 * What the lab cannot honestly have is waived in the lab's palisade.yaml, each with its
 * reason; waived checks are still reported (status "waived").
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig } from '../../installer/config/load.ts';
import type { PalisadeConfig } from '../../installer/config/schema.ts';
import { gatherFacts } from '../../installer/facts/index.ts';
import { closeAll, connectHosts } from '../../installer/hosts/index.ts';
import type { RemoteHost } from '../../installer/hosts/types.ts';
import type { PreflightReport } from '../../installer/preflight/report.ts';
import { runPreflight } from '../../installer/preflight/run.ts';
import { preflightReportSchema } from '../../installer/preflight/schema.ts';
import { getLab } from './lab.ts';
import type { LabInfo } from '../../scripts/lab.d/types.ts';

const repo = resolve(import.meta.dirname, '../..');
const dir = join(repo, '.cache/labs', `preflight-${process.pid}`);
const SKEW_MS = 2500;

// What the lab hosts honestly lack and palisade install fixes, or the lab config accepts
// (allowUnopened: no device-mapper here), this machine's own lack of an NTP client, and the
// FQDN this machine does not resolve (the lab reaches the API by address: README "The lab").
const LAB_WARNINGS = new Set(['sysctl.inotify_instances', 'sysctl.ip_forward', 'kernel.dm_crypt', '(admin) time.sync', '(admin) dns.fqdn']);
const allowedWarning = (f: { host: string; id: string }) => LAB_WARNINGS.has(f.id) || LAB_WARNINGS.has(`${f.host} ${f.id}`);

let lab: LabInfo;
let base: { config: PalisadeConfig; baseDir: string };

function labCmd(args: string[]): void {
  const r = spawnSync(join(repo, 'scripts/lab'), args, { encoding: 'utf8', timeout: 15 * 60_000 });
  if (r.status !== 0) throw new Error(`scripts/lab ${args.join(' ')}: ${r.stderr}`);
}
function onHost(host: string, cmd: string): string {
  return execFileSync('ssh', ['-F', lab.sshConfigPath, host, cmd], { encoding: 'utf8', timeout: 60_000 });
}
function testConfig(over: Partial<PalisadeConfig> = {}): PalisadeConfig {
  const c = structuredClone(base.config);
  c.sizing = { profile: 'custom', custom: { controller: { ...c.sizing.custom!.controller, diskGB: 2 }, worker: { ...c.sizing.custom!.worker, diskGB: 2 } } };
  // the lab's own waivers (scripts/lab writes each with its reason): the admin side's air gap, disk latency,
  // the product UUID nspawn does not show
  expect(c.preflight.ignore.sort()).toEqual(['airgap.route@(admin)', 'disk.latency', 'unique.product_uuid']);
  return { ...c, ...over };
}
const fails = (r: PreflightReport) =>
  r.findings
    .filter((f) => f.status === 'fail')
    .map((f) => `${f.host} ${f.id}`)
    .sort();

beforeAll(() => {
  mkdirSync(dir, { recursive: true });
  // global-setup takes down labs under .cache/labs whose owner is gone: this one is ours while we run
  writeFileSync(join(dir, 'owner.pid'), `${process.pid}\n`);
  labCmd(['up', '3', '--tpm', '--dir', dir, '--disk-size', '2G', '--disk-size', 'host1=1G']);
  lab = JSON.parse(execFileSync('cat', [join(dir, 'lab.json')], { encoding: 'utf8' })) as LabInfo;
  onHost('host2', 'mkfs.ext4 -q -F /dev/vdb');
  // chrony (-x) on the lab hosts syncs to the services namespace within seconds of boot
  for (const h of ['host1', 'host2', 'host3']) {
    onHost(h, 'i=0; until chronyc -n tracking 2>/dev/null | grep -q "^Leap status *: Normal"; do i=$((i+1)); [ $i -gt 60 ] && exit 1; sleep 0.5; done');
  }
  onHost(
    'host3',
    `printf '%s\\n' '#!/bin/sh' 'case "$1" in +%s%N) echo $(( $(/bin/date +%s%N) + ${SKEW_MS}000000 ));; *) exec /bin/date "$@";; esac' > /usr/local/bin/date && chmod 755 /usr/local/bin/date`,
  );
}, 600_000);

afterAll(() => {
  spawnSync(join(repo, 'scripts/lab'), ['down', '--dir', dir], { timeout: 300_000 });
  rmSync(dir, { recursive: true, force: true });
}, 600_000);

describe('preflight on a lab with planted problems', () => {
  beforeAll(async () => {
    const l = await loadConfig(lab.configPath);
    base = { config: l.config, baseDir: l.baseDir };
  });

  it('reports exactly the planted failures, with what was measured', async () => {
    const r = await runPreflight({ config: testConfig(), baseDir: base.baseDir });
    expect(fails(r)).toEqual(['host1 disk.size', 'host2 disk.empty', 'host3 time.skew']);
    const f = (host: string, id: string) => r.findings.find((x) => x.host === host && x.id === id)!;
    expect(f('host1', 'disk.size')).toMatchObject({ measured: '1.07 GB', required: expect.stringMatching(/^>= 2 GB/) });
    expect(f('host2', 'disk.empty')).toMatchObject({ measured: 'ext4 signature', fix: expect.stringMatching(/wipefs -a \/dev\/vdb/) });
    // the skew interval brackets the planted offset
    const m = /^\+(\d+) to \+(\d+) ms$/.exec(f('host3', 'time.skew').measured);
    expect(m, f('host3', 'time.skew').measured).not.toBeNull();
    expect(Number(m![1])).toBeLessThanOrEqual(SKEW_MS + 5);
    expect(Number(m![2])).toBeGreaterThanOrEqual(SKEW_MS - 5);
    for (const h of ['host1', 'host2']) expect(f(h, 'time.skew').status).toBe('pass');
    // everything else passes, or is a known lab warning, or a waiver with its reason above
    expect(r.findings.filter((x) => x.status === 'warn' && !allowedWarning(x)).map((x) => `${x.host} ${x.id}: ${x.measured}`)).toEqual([]);
    expect(
      r.findings
        .filter((x) => x.status === 'waived')
        .map((x) => `${x.host} ${x.id}`)
        .sort(),
    ).toEqual(['(admin) airgap.route', '(cluster) unique.product_uuid', 'host1 disk.latency', 'host2 disk.latency', 'host3 disk.latency']);
    for (const h of ['host1', 'host2', 'host3'])
      expect(f(h, 'time.sync')).toMatchObject({ status: 'pass', measured: expect.stringMatching(/^chrony synchronised to /) });
    // measured even when waived
    expect(f('host1', 'disk.latency').measured).toMatch(/^p99 [\d.]+ ms \(fio, \d+ writes in \/var\/lib\)$/);
    // the real lab facts: TPM through swtpm, FQDN from /etc/hosts, no public route
    expect(f('host2', 'dns.fqdn').status).toBe('pass');
    expect(r.hosts.filter((h) => h.role !== 'admin').every((h) => h.reachable && h.roundTrips === 1 && /TPM2 \(tcti\)/.test(h.summary ?? ''))).toBe(true);
    for (const h of ['host1', 'host2', 'host3'])
      expect(f(h, 'airgap.route')).toMatchObject({ status: 'pass', measured: expect.stringMatching(/^no route to 1\.1\.1\.1/) });
  });

  it("the admin air-gap finding tells the truth about this machine's routes", async () => {
    const r = await runPreflight({ config: testConfig({ preflight: { ignore: [] } }), baseDir: base.baseDir, only: ['host1'], diskLatency: false });
    const routed =
      spawnSync('ip', ['route', 'get', '1.1.1.1']).status === 0 &&
      !/unreachable|prohibit|blackhole/.test(spawnSync('ip', ['route', 'get', '1.1.1.1'], { encoding: 'utf8' }).stdout);
    const a = r.findings.find((x) => x.host === '(admin)' && x.id === 'airgap.route')!;
    expect(a.status).toBe(routed ? 'fail' : 'pass');
    if (routed) expect(a.measured).toMatch(/1\.1\.1\.1.* via \S+ dev \S+/);
  });

  it('a mounted data disk is refused', async () => {
    onHost('host2', 'mkdir -p /mnt/pf && mount /dev/vdb /mnt/pf');
    try {
      const r = await runPreflight({ config: testConfig(), baseDir: base.baseDir, only: ['host2'], diskLatency: false });
      expect(r.findings.find((x) => x.id === 'disk.unmounted')).toMatchObject({ status: 'fail', measured: 'mounted at /mnt/pf' });
    } finally {
      onHost('host2', 'umount /mnt/pf');
    }
  });

  it('an unreachable host fails with its reason while the others report', async () => {
    const c = testConfig();
    c.hosts = [...c.hosts, { ...c.hosts[0]!, name: 'ghost', port: 1 }];
    const r = await runPreflight({ config: c, baseDir: base.baseDir, diskLatency: false });
    expect(r.findings.find((x) => x.host === 'ghost')).toMatchObject({
      id: 'host.reachable',
      status: 'fail',
      measured: expect.stringMatching(/^ssh\.unreachable: .*refused/),
    });
    expect(r.hosts.filter((h) => h.reachable && h.role !== 'admin').map((h) => h.name)).toEqual(['host1', 'host2', 'host3']);
  });

  it("gathers every host's facts in one SSH round trip", async () => {
    const { hosts, failures } = await connectHosts(base.config, base.baseDir);
    expect(failures).toEqual([]);
    try {
      for (const [name, h] of hosts) {
        let execs = 0;
        const counting: RemoteHost = {
          name: h.name,
          address: h.address,
          exec: (c, o) => (execs++, h.exec(c, o)),
          upload: (s, p, o) => h.upload(s, p, o),
          close: () => h.close(),
        };
        const f = await gatherFacts(counting, { fqdn: base.config.cluster.fqdn, dataDisk: '/dev/vdb', diskLatency: false });
        expect(execs, name).toBe(1);
        expect(f.hostname).toBe(name);
      }
    } finally {
      await closeAll(hosts);
    }
  });

  it('as a non-root user the probe runs through sudo (blkid needs root to see the filesystem)', async () => {
    const c = testConfig();
    c.hosts = c.hosts.map((h) => ({ ...h, user: 'ops' }));
    const r = await runPreflight({ config: c, baseDir: base.baseDir, only: ['host2'], diskLatency: false });
    expect(r.findings.find((x) => x.host === 'host2' && x.id === 'disk.empty')).toMatchObject({ status: 'fail', measured: 'ext4 signature' });
    expect(r.hosts.find((h) => h.name === 'host2')?.reachable).toBe(true);
  });

  it('the CLI: table, exit 1 on failure, JSON that validates, exit 0 when the failures are waived', () => {
    const cfgPath = join(dir, 'preflight.yaml');
    writeFileSync(cfgPath, stringify(testConfig()));
    const cli = (args: string[]) =>
      spawnSync('node', [join(repo, 'installer/bin/palisade.js'), 'preflight', '-c', cfgPath, '--no-disk-probe', ...args], {
        encoding: 'utf8',
        timeout: 120_000,
      });
    const text = cli([]);
    expect(text.status).toBe(1);
    expect(text.stdout).toMatch(/^host1\s+host\.reachable\s+ok/m);
    expect(text.stdout).toMatch(/^FAILED: 3 failed,/m);
    const json = cli(['--output', 'json']);
    expect(json.status).toBe(1);
    const doc = JSON.parse(json.stdout);
    const validate = new Ajv({ strict: true, allErrors: true, validateFormats: false }).compile(preflightReportSchema as object);
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    const waived = cli(['--ignore', 'disk.size@host1', '--ignore', 'disk.empty', '--ignore', 'time.skew@host3']);
    expect(waived.status, waived.stdout + waived.stderr).toBe(0);
    expect(waived.stdout).toMatch(/disk\.size\s+waived \(FAIL\)/);
  });
});

describe('preflight on the shared lab', () => {
  it('every host answers in one round trip, the one behind the jump host too', async () => {
    const shared = getLab();
    const l = await loadConfig(shared.configPath);
    const r = await runPreflight({ config: l.config, baseDir: l.baseDir, diskLatency: false });
    const hosts = r.hosts.filter((h) => h.role !== 'admin');
    expect(hosts.map((h) => [h.name, h.reachable, h.roundTrips])).toEqual(shared.hosts.map((h) => [h.name, true, 1]));
    expect(r.findings.filter((f) => f.host === '(cluster)' && f.id.startsWith('unique.')).map((f) => `${f.id} ${f.status}`)).toEqual([
      'unique.hostname pass',
      'unique.mac pass',
      'unique.machine_id pass',
      'unique.product_uuid waived',
    ]);
  });
});
