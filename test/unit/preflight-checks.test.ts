import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configSchema, type PalisadeConfig } from '../../installer/config/schema.ts';
import { parseProbeOutput } from '../../installer/facts/parse.ts';
import type { HostFacts } from '../../installer/facts/types.ts';
import * as C from '../../installer/preflight/checks.ts';
import { clusterChecks } from '../../installer/preflight/cluster.ts';
import { PROFILES, sizingFor } from '../../installer/preflight/profiles.ts';
import { cidrsOverlap, parseCidr4 } from '../../installer/preflight/net.ts';
import type { HostInput } from '../../installer/preflight/types.ts';

const GiB = 1024 ** 3;
const raw = readFileSync(join(import.meta.dirname, '../fixtures/facts/lab-host1.txt'), 'utf8');
/** A healthy host: the recorded lab host, with the gaps a lab has filled in. */
function facts(patch: (f: HostFacts) => void = () => {}): HostFacts {
  const f = parseProbeOutput(raw, { name: 'host1', address: '10.231.0.10', fqdn: 'palisade.lab.internal', dataDisk: '/dev/vdb' });
  f.time = { epochMs: 1_000_000, sentAtMs: 1_000_000 - 10, receivedAtMs: 1_000_000 + 10, service: 'chrony', synchronized: true, source: '10.231.0.2' };
  f.sysctls['fs.inotify.max_user_instances'] = '1024';
  f.diskLatency = { method: 'fio', path: '/var/lib/.palisade-preflight.x', samples: 1000, p99Ms: 2 };
  f.memory.totalBytes = 16 * GiB;
  f.cpu.threads = 8;
  f.dataDisk!.sizeBytes = 100e9;
  patch(f);
  return f;
}

function config(over: Record<string, unknown> = {}): PalisadeConfig {
  return configSchema.parse({
    apiVersion: 'palisade/v1',
    cluster: { name: 'lab', fqdn: 'palisade.lab.internal' },
    hosts: [
      { name: 'host1', address: '10.231.0.10', role: 'controller', dataDisk: '/dev/vdb' },
      { name: 'host2', address: '10.231.0.11', role: 'controller', dataDisk: '/dev/vdb' },
      { name: 'host4', address: '10.231.0.13', role: 'worker', dataDisk: '/dev/vdb' },
    ],
    ...over,
  });
}

function run(check: C.HostCheck, f: HostFacts, cfg = config(), host = cfg.hosts[0]!) {
  return check({
    config: cfg,
    host,
    facts: f,
    sizing: sizingFor(cfg)[host.role],
    ports: [6443, 2379, 2380, 10250, 443, 5000],
    fqdnTargets: ['10.231.0.10', '10.231.0.11'],
  });
}
const status = (check: C.HostCheck, f: HostFacts, cfg?: PalisadeConfig, host?: PalisadeConfig['hosts'][number]) => run(check, f, cfg, host)?.status;

describe('sizing profiles', () => {
  it('uses the published numbers and the custom profile from the config', () => {
    expect(PROFILES.small.controller).toEqual({ cpus: 8, memoryGiB: 16, diskGB: 100 });
    expect(PROFILES.medium.controller).toEqual({ cpus: 16, memoryGiB: 32, diskGB: 100 });
    expect(PROFILES.large.controller).toEqual({ cpus: 32, memoryGiB: 64, diskGB: 120 });
    expect(PROFILES.small.worker).toMatchObject({ cpus: 4, memoryGiB: 8 });
    const custom = config({
      sizing: { profile: 'custom', custom: { controller: { cpus: 2, memoryGiB: 4, diskGB: 2 }, worker: { cpus: 1, memoryGiB: 2, diskGB: 1 } } },
    });
    expect(sizingFor(custom).controller).toEqual({ cpus: 2, memoryGiB: 4, diskGB: 2 });
  });
});

describe('every check passes on a healthy host', () => {
  it('no warn or fail', () => {
    const out = C.HOST_CHECKS.map((c) => run(c, facts())).filter((x) => x && x.status !== 'pass');
    expect(out.map((x) => `${x!.id}: ${x!.measured}`)).toEqual([]);
  });
});

describe('thresholds: at, just under, just over', () => {
  it('cpu.count (small controller: 8; worker: 4)', () => {
    expect(
      status(
        C.cpuCount,
        facts((f) => (f.cpu.threads = 8)),
      ),
    ).toBe('pass');
    expect(
      status(
        C.cpuCount,
        facts((f) => (f.cpu.threads = 7)),
      ),
    ).toBe('fail');
    expect(
      status(
        C.cpuCount,
        facts((f) => (f.cpu.threads = 9)),
      ),
    ).toBe('pass');
    expect(
      status(
        C.cpuCount,
        facts((f) => (f.cpu.threads = 4)),
        config(),
        config().hosts[2],
      ),
    ).toBe('pass');
    expect(
      status(
        C.cpuCount,
        facts((f) => (f.cpu.threads = 3)),
        config(),
        config().hosts[2],
      ),
    ).toBe('fail');
    expect(
      run(
        C.cpuCount,
        facts((f) => delete f.cpu.threads),
      ),
    ).toMatchObject({ status: 'fail', measured: 'unknown' });
  });

  it('memory.total: 16 GiB with 5 % kernel allowance', () => {
    const need = 16 * 0.95 * GiB;
    expect(
      status(
        C.memoryTotal,
        facts((f) => (f.memory.totalBytes = need)),
      ),
    ).toBe('pass');
    expect(
      status(
        C.memoryTotal,
        facts((f) => (f.memory.totalBytes = need - 1)),
      ),
    ).toBe('fail');
    expect(
      status(
        C.memoryTotal,
        facts((f) => (f.memory.totalBytes = need + 1)),
      ),
    ).toBe('pass');
    const r = run(
      C.memoryTotal,
      facts((f) => (f.memory.totalBytes = 8 * GiB)),
    );
    expect(r).toMatchObject({ status: 'fail', measured: '8.0 GiB', required: expect.stringMatching(/>= 16 GiB/) });
    expect(r?.fix).toMatch(/16 GiB/);
  });

  it('disk.size: 100 GB (10^9 bytes)', () => {
    expect(
      status(
        C.diskSize,
        facts((f) => (f.dataDisk!.sizeBytes = 100e9)),
      ),
    ).toBe('pass');
    expect(
      status(
        C.diskSize,
        facts((f) => (f.dataDisk!.sizeBytes = 100e9 - 1)),
      ),
    ).toBe('fail');
    expect(
      status(
        C.diskSize,
        facts((f) => (f.dataDisk!.sizeBytes = 100e9 + 1)),
      ),
    ).toBe('pass');
    const large = config({ sizing: { profile: 'large' } });
    expect(
      status(
        C.diskSize,
        facts((f) => (f.dataDisk!.sizeBytes = 119e9)),
        large,
      ),
    ).toBe('fail');
    expect(
      status(
        C.diskSize,
        facts((f) => (f.dataDisk!.sizeBytes = 120e9)),
        large,
      ),
    ).toBe('pass');
  });

  it('disk.latency: p99 <= 10 ms, warn > 5 ms', () => {
    const at = (p99Ms: number, method: 'fio' | 'dd' = 'fio') =>
      status(
        C.diskLatency,
        facts((f) => (f.diskLatency = { method, path: '/var/lib/x', samples: 100, p99Ms })),
      );
    expect([at(5), at(5.01), at(10), at(10.01)]).toEqual(['pass', 'warn', 'warn', 'fail']);
    // the coarse dd fallback warns where fio would fail
    expect([at(5, 'dd'), at(5.01, 'dd'), at(10.01, 'dd')]).toEqual(['pass', 'warn', 'warn']);
    expect(
      run(
        C.diskLatency,
        facts((f) => delete f.diskLatency),
      ),
    ).toMatchObject({ status: 'warn', measured: expect.stringMatching(/not measured/) });
  });

  it('time.skew: <= 500 ms, warn > 100 ms, either direction', () => {
    const at = (skew: number) =>
      status(
        C.clockSkewCheck,
        facts((f) => (f.time = { ...f.time, epochMs: 1_000_000 + skew, sentAtMs: 1_000_000, receivedAtMs: 1_000_000 })),
      );
    expect([at(100), at(101), at(500), at(501), at(-501), at(-100), at(-101)]).toEqual(['pass', 'warn', 'warn', 'fail', 'fail', 'pass', 'warn']);
    expect(
      run(
        C.clockSkewCheck,
        facts((f) => (f.time = { epochMs: 2_000, sentAtMs: 0, receivedAtMs: 400 })),
      ),
    ).toMatchObject({ status: 'fail', measured: '+1600 to +2000 ms' });
    // judged on the interval the clock was read in: 600 ms off at worst, but maybe only 100 ms
    expect(
      run(
        C.clockSkewCheck,
        facts((f) => (f.time = { epochMs: 600, sentAtMs: 0, receivedAtMs: 500 })),
      ),
    ).toMatchObject({ status: 'pass', measured: '+100 to +600 ms' });
    expect(
      status(
        C.clockSkewCheck,
        facts((f) => (f.time = { epochMs: -200, sentAtMs: 0, receivedAtMs: 50 })),
      ),
    ).toBe('warn');
    expect(
      status(
        C.clockSkewCheck,
        facts((f) => delete f.time.epochMs),
      ),
    ).toBe('fail');
  });

  it('sysctl.inotify_*: >= 1024 instances, >= 65536 watches; below warns (install raises them), absent fails', () => {
    const inst = (v?: string) =>
      status(
        C.inotifyInstances,
        facts((f) => (v === undefined ? delete f.sysctls['fs.inotify.max_user_instances'] : (f.sysctls['fs.inotify.max_user_instances'] = v))),
      );
    expect([inst('1024'), inst('1023'), inst('1025'), inst(undefined)]).toEqual(['pass', 'warn', 'pass', 'fail']);
    const w = (v: string) =>
      status(
        C.inotifyWatches,
        facts((f) => (f.sysctls['fs.inotify.max_user_watches'] = v)),
      );
    expect([w('65536'), w('65535'), w('65537')]).toEqual(['pass', 'warn', 'pass']);
  });
});

describe('data disk', () => {
  it('present / missing / not a block device / not configured', () => {
    expect(status(C.diskPresent, facts())).toBe('pass');
    expect(
      run(
        C.diskPresent,
        facts((f) => (f.dataDisk = { ...f.dataDisk!, exists: false, isBlockDevice: false })),
      ),
    ).toMatchObject({ status: 'fail', measured: '/dev/vdb does not exist' });
    expect(
      status(
        C.diskPresent,
        facts((f) => (f.dataDisk!.isBlockDevice = false)),
      ),
    ).toBe('fail');
    const cfg = config();
    const { dataDisk: _, ...noDisk } = cfg.hosts[0]!;
    expect(status(C.diskPresent, facts(), cfg, noDisk)).toBe('warn');
    // the other disk checks do not pile on when the disk is not there
    expect(
      run(
        C.diskSize,
        facts((f) => (f.dataDisk!.exists = false)),
      ),
    ).toBeUndefined();
  });

  it('mounted or held is refused', () => {
    expect(status(C.diskUnmounted, facts())).toBe('pass');
    expect(
      run(
        C.diskUnmounted,
        facts((f) => (f.dataDisk!.mountpoints = ['/mnt/data'])),
      ),
    ).toMatchObject({ status: 'fail', measured: 'mounted at /mnt/data' });
    expect(
      run(
        C.diskUnmounted,
        facts((f) => (f.dataDisk!.holders = ['dm-0'])),
      ),
    ).toMatchObject({ status: 'fail', measured: 'held by dm-0' });
  });

  it('a filesystem fails unless encryption.wipe, which warns', () => {
    expect(status(C.diskNoFilesystem, facts())).toBe('pass');
    const withFs = facts((f) => (f.dataDisk!.fstype = 'ext4'));
    expect(run(C.diskNoFilesystem, withFs)).toMatchObject({ status: 'fail', measured: 'ext4 signature' });
    expect(
      run(
        C.diskNoFilesystem,
        withFs,
        config({ encryption: { mode: 'tang', wipe: true, tang: [{ url: 'http://10.0.0.2:7500', thumbprint: 'x'.repeat(43) }] } }),
      ),
    ).toMatchObject({ status: 'warn', fix: expect.stringMatching(/DESTROYED/) });
    expect(
      run(
        C.diskNoFilesystem,
        facts((f) => ((f.dataDisk!.ptType = 'gpt'), (f.dataDisk!.partitions = ['vdb1']))),
      ),
    ).toMatchObject({ status: 'fail', measured: 'gpt partition table, partitions vdb1' });
  });
});

describe('host checks', () => {
  it('swap.off', () => {
    expect(status(C.swapOff, facts())).toBe('pass');
    expect(
      status(
        C.swapOff,
        facts((f) => (f.memory.swapTotalBytes = 1)),
      ),
    ).toBe('fail');
    expect(
      status(
        C.swapOff,
        facts((f) => delete f.memory.swapTotalBytes),
      ),
    ).toBe('warn');
  });

  it('os.arch and os.supported', () => {
    expect(
      status(
        C.archX86,
        facts((f) => (f.os.arch = 'aarch64')),
      ),
    ).toBe('fail');
    const os = (id: string, versionId: string, idLike: string[] = []) =>
      status(
        C.osSupported,
        facts((f) => (f.os = { ...f.os, id, versionId, idLike })),
      );
    expect([
      os('debian', '12'),
      os('debian', '11'),
      os('ubuntu', '22.04'),
      os('ubuntu', '24.04'),
      os('ubuntu', '23.10'),
      os('rocky', '9.4'),
      os('almalinux', '8.9'),
      os('centos', '9', ['rhel', 'fedora']),
      os('fedora', '40'),
    ]).toEqual(['pass', 'fail', 'pass', 'pass', 'fail', 'pass', 'fail', 'pass', 'fail']);
  });

  it('time.sync', () => {
    expect(status(C.timeSync, facts())).toBe('pass');
    expect(
      run(
        C.timeSync,
        facts((f) => (f.time = { ...f.time, synchronized: false, detail: 'chronyd is not running' })),
      ),
    ).toMatchObject({ status: 'fail', fix: expect.stringMatching(/start chronyd/) });
    expect(
      status(
        C.timeSync,
        facts((f) => (f.time = { epochMs: 1 })),
      ),
    ).toBe('fail');
  });

  it('ports.free', () => {
    expect(status(C.portsFree, facts())).toBe('pass');
    expect(
      run(
        C.portsFree,
        facts((f) => f.listeningPorts!.push(6443, 2380)),
      ),
    ).toMatchObject({ status: 'fail', measured: 'in use: 6443, 2380' });
    expect(
      status(
        C.portsFree,
        facts((f) => delete f.listeningPorts),
      ),
    ).toBe('warn');
  });

  it('kernel features and sysctls', () => {
    expect(
      status(
        C.kernelOverlay,
        facts((f) => (f.kernel.overlay = false)),
      ),
    ).toBe('fail');
    expect(
      status(
        C.kernelBrNetfilter,
        facts((f) => (f.kernel.brNetfilter = false)),
      ),
    ).toBe('fail');
    expect(
      status(
        C.kernelBrNetfilter,
        facts((f) => (f.kernel = {})),
      ),
    ).toBe('warn');
    expect(
      status(
        C.sysctlIpForward,
        facts((f) => (f.sysctls['net.ipv4.ip_forward'] = '0')),
      ),
    ).toBe('warn');
    expect(
      status(
        C.sysctlIpForward,
        facts((f) => delete f.sysctls['net.ipv4.ip_forward']),
      ),
    ).toBe('fail');
    expect(
      status(
        C.sysctlBridgeNf,
        facts((f) => (f.sysctls['net.bridge.bridge-nf-call-iptables'] = '0')),
      ),
    ).toBe('warn');
    const rp = (all: string, def: string) =>
      status(
        C.sysctlRpFilter,
        facts((f) => ((f.sysctls['net.ipv4.conf.all.rp_filter'] = all), (f.sysctls['net.ipv4.conf.default.rp_filter'] = def))),
      );
    expect([rp('0', '0'), rp('2', '2'), rp('1', '0'), rp('0', '1')]).toEqual(['pass', 'pass', 'warn', 'warn']);
  });

  it('network.cidr: pod/service CIDRs against host networks', () => {
    expect(status(C.cidrOverlap, facts())).toBe('pass');
    const clash = facts((f) => f.nics.find((n) => n.name === 'eth0')!.addresses.push({ family: 'inet', address: '10.43.7.1', prefixLength: 24 }));
    expect(run(C.cidrOverlap, clash)).toMatchObject({ status: 'fail', measured: 'serviceCidr 10.43.0.0/16 overlaps eth0 10.43.7.0/24' });
    // a host network that contains the pod range also overlaps
    const wide = facts((f) => (f.nics.find((n) => n.name === 'eth0')!.addresses = [{ family: 'inet', address: '10.0.0.5', prefixLength: 8 }]));
    expect(run(C.cidrOverlap, wide)?.measured).toMatch(/podCidr 10.42.0.0\/16 overlaps eth0 10.0.0.0\/8/);
    expect(cidrsOverlap(parseCidr4('10.42.0.0/16')!, parseCidr4('10.41.255.0/24')!)).toBe(false);
    expect(cidrsOverlap(parseCidr4('10.42.0.0/16')!, parseCidr4('10.42.255.255/32')!)).toBe(true);
  });

  it('dns.nameserver and dns.fqdn', () => {
    expect(
      status(
        C.nameserver,
        facts((f) => (f.nameservers = ['127.0.0.53'])),
      ),
    ).toBe('fail');
    expect(
      status(
        C.nameserver,
        facts((f) => (f.nameservers = ['127.0.0.53', '10.0.0.2'])),
      ),
    ).toBe('pass');
    expect(
      status(
        C.nameserver,
        facts((f) => (f.nameservers = [])),
      ),
    ).toBe('fail');
    expect(status(C.fqdnResolves, facts())).toBe('pass');
    expect(
      run(
        C.fqdnResolves,
        facts((f) => (f.fqdn.addresses = ['192.0.2.99'])),
      ),
    ).toMatchObject({ status: 'fail', measured: 'palisade.lab.internal -> 192.0.2.99' });
    expect(
      status(
        C.fqdnResolves,
        facts((f) => (f.fqdn.addresses = [])),
      ),
    ).toBe('fail');
  });

  it('airgap.route: fails on any route to a public address when airGapped, notes it otherwise', () => {
    const routed = facts(
      (f) => (f.routes.publicProbes[0] = { destination: '1.1.1.1', routable: true, via: '10.231.0.1', dev: 'eth0', detail: '1.1.1.1 via 10.231.0.1 dev eth0' }),
    );
    expect(status(C.airGap, facts())).toBe('pass');
    expect(run(C.airGap, routed)).toMatchObject({ status: 'fail', measured: 'routes to 1.1.1.1 via 10.231.0.1 dev eth0' });
    expect(run(C.airGap, routed, config({ airGapped: false }))).toMatchObject({ status: 'pass', measured: expect.stringMatching(/^note: not air-gapped/) });
    expect(
      status(
        C.airGap,
        facts((f) => (f.routes.publicProbes = [])),
      ),
    ).toBe('warn');
  });

  it('tpm.present only when the encryption mode uses the TPM (host override counts)', () => {
    const tang = { mode: 'tang', tang: [{ url: 'http://10.0.0.2:7500', thumbprint: 'x'.repeat(43) }] };
    const noTpm = facts((f) => (f.tpm = { present: false, detail: 'no /dev/tpm0' }));
    expect(run(C.tpmPresent, noTpm)).toBeUndefined();
    expect(run(C.tpmPresent, noTpm, config({ encryption: tang }))).toBeUndefined();
    expect(status(C.tpmPresent, noTpm, config({ encryption: { mode: 'tpm2' } }))).toBe('fail');
    expect(status(C.tpmPresent, facts(), config({ encryption: { mode: 'tpm2' } }))).toBe('pass');
    const cfg = config({ encryption: tang });
    expect(status(C.tpmPresent, noTpm, cfg, { ...cfg.hosts[0]!, encryption: { mode: 'tpm2+tang' } })).toBe('fail');
  });

  it('kernel.dm_crypt only with encryption; allowUnopened turns the failure into a warning', () => {
    const tang = { mode: 'tang', tang: [{ url: 'http://10.0.0.2:7500', thumbprint: 'x'.repeat(43) }] };
    expect(run(C.deviceMapper, facts())).toBeUndefined();
    expect(status(C.deviceMapper, facts(), config({ encryption: tang }))).toBe('fail');
    expect(status(C.deviceMapper, facts(), config({ encryption: { ...tang, allowUnopened: true } }))).toBe('warn');
    expect(
      status(
        C.deviceMapper,
        facts((f) => (f.kernel = { ...f.kernel, deviceMapper: true, dmCrypt: true })),
        config({ encryption: tang }),
      ),
    ).toBe('pass');
  });
});

describe('fix texts tell the truth about what the install does', () => {
  it('the sysctls preflight says the install sets are the ones the prepare phase writes', async () => {
    const { SYSCTLS } = await import('../../installer/cluster/prepare.ts');
    expect([...C.INSTALL_SETS_SYSCTLS].sort()).toEqual(SYSCTLS.map(([k]) => k).sort());
    expect(
      run(
        C.sysctlIpForward,
        facts((f) => (f.sysctls['net.ipv4.ip_forward'] = '0')),
      )?.fix,
    ).toMatch(/^palisade install sets it/);
    expect(
      run(
        C.inotifyInstances,
        facts((f) => (f.sysctls['fs.inotify.max_user_instances'] = '128')),
      )?.fix,
    ).toMatch(/palisade install does not set it/);
  });
});

describe('cluster checks', () => {
  const cfg = config();
  const input = (i: number, patch: (f: HostFacts) => void = () => {}): HostInput => ({
    config: cfg.hosts[i]!,
    facts: facts((f) => {
      f.hostname = `h${i}`;
      f.machineId = `${i}`.repeat(32);
      f.productUuid = `uuid-${i}`;
      f.nics.find((n) => n.name === 'eth0')!.mac = `52:54:00:00:00:0${i}`;
      f.nics.find((n) => n.name === 'eth0')!.addresses = [{ family: 'inet', address: cfg.hosts[i]!.address, prefixLength: 27 }];
      f.nics = f.nics.filter((n) => n.name !== 'jump-host4');
      patch(f);
    }),
  });
  const byId = (inputs: HostInput[]) => Object.fromEntries(clusterChecks(inputs).map((f) => [f.id, f]));

  it('all distinct and one MTU: pass', () => {
    const r = byId([input(0), input(1), input(2)]);
    expect(Object.values(r).map((f) => `${f.id}=${f.status}`)).toEqual([
      'unique.hostname=pass',
      'unique.mac=pass',
      'unique.machine_id=pass',
      'unique.product_uuid=pass',
      'network.mtu=pass',
    ]);
  });

  it('cloned hosts: duplicate hostname, MAC, machine-id, product_uuid', () => {
    const clone = (f: HostFacts) => {
      f.hostname = 'h0';
      f.machineId = '0'.repeat(32);
      f.productUuid = 'uuid-0';
      f.nics.find((n) => n.name === 'eth0')!.mac = '52:54:00:00:00:00';
    };
    const r = byId([input(0), input(1, clone), input(2)]);
    for (const id of ['unique.hostname', 'unique.mac', 'unique.machine_id', 'unique.product_uuid'])
      expect(r[id]).toMatchObject({ status: 'fail', measured: expect.stringMatching(/on host1, host2/) });
    expect(r['unique.machine_id']?.fix).toMatch(/systemd-machine-id-setup/);
  });

  it('unknown product_uuid could not be checked (a warning, never ok); an unknown machine-id warns', () => {
    const r = byId([input(0, (f) => delete f.productUuid), input(1, (f) => delete f.productUuid)]);
    expect(r['unique.product_uuid']).toMatchObject({ status: 'warn', measured: expect.stringMatching(/^could not be checked: unreadable on /) });
    expect(byId([input(0, (f) => delete f.machineId), input(1)])['unique.machine_id']?.status).toBe('warn');
  });

  it('MTU mismatch on the cluster network fails', () => {
    const r = byId([input(0), input(1, (f) => (f.nics.find((n) => n.name === 'eth0')!.mtu = 9000))]);
    expect(r['network.mtu']).toMatchObject({ status: 'fail', measured: 'host1 eth0 1500, host2 eth0 9000' });
  });

  it('one host is not a cluster', () => {
    expect(clusterChecks([input(0)])).toEqual([]);
  });
});
