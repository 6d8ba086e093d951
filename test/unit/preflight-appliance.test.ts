import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../installer/config/schema.ts';
import { parseProbeOutput } from '../../installer/facts/parse.ts';
import type { HostFacts } from '../../installer/facts/types.ts';
import { applianceOwnership } from '../../installer/preflight/appliance.ts';
import { clusterChecks } from '../../installer/preflight/cluster.ts';
import { evaluate, renderReport } from '../../installer/preflight/report.ts';
import type { JournalData } from '../../installer/state/journal.ts';

const GiB = 1024 ** 3;
const raw = readFileSync(join(import.meta.dirname, '../fixtures/facts/lab-host1.txt'), 'utf8');
const config = configSchema.parse({
  apiVersion: 'palisade/v1',
  cluster: { name: 'lab', fqdn: 'palisade.lab.internal' },
  hosts: [
    { name: 'host1', address: '10.231.0.10', role: 'controller', dataDisk: '/dev/vdb' },
    { name: 'host4', address: '10.231.0.13', role: 'worker', dataDisk: '/dev/vdb' },
  ],
  encryption: { mode: 'tang', tang: [{ url: 'http://10.231.0.2:7500', thumbprint: 'abcdefghijklmnopqrstuvwxyz' }], allowUnopened: true },
});

/** A lab host as it is after a finished install: LUKS on its data disk, the appliance's ports listening. */
function installedHost(name: string, address: string, ports: number[], extra: Partial<HostFacts> = {}): HostFacts {
  const f = parseProbeOutput(raw, { name, address, fqdn: 'palisade.lab.internal', dataDisk: '/dev/vdb' });
  f.hostname = name;
  f.machineId = `${name}-machine-id`;
  f.nics = f.nics.map((n) => (n.loopback ? n : { ...n, mac: `02:00:00:00:00:${name.slice(-1)}`, addresses: [{ family: 'inet', address, prefixLength: 27 }] }));
  f.time = { epochMs: 1_000_000, sentAtMs: 1_000_000 - 10, receivedAtMs: 1_000_000 + 10, service: 'chrony', synchronized: true, source: '10.231.0.2' };
  f.sysctls['fs.inotify.max_user_instances'] = '1024';
  f.diskLatency = { method: 'fio', path: '/var/lib/.palisade-preflight.x', samples: 1000, p99Ms: 2 };
  f.memory.totalBytes = 16 * GiB;
  f.cpu.threads = 8;
  f.dataDisk = { ...f.dataDisk!, sizeBytes: 100e9, fstype: 'crypto_LUKS', partitions: [], mountpoints: [], holders: [] };
  f.listeningPorts = [22, ...ports];
  delete f.productUuid;
  return Object.assign(f, extra);
}

const done = { status: 'done' as const };
const journal: JournalData = {
  version: 1,
  cluster: 'lab',
  updatedAt: new Date().toISOString(),
  runs: [{ id: 'r1', startedAt: new Date().toISOString(), status: 'done', command: 'install' }],
  phases: {
    encrypt: { ...done, hosts: { host1: done, host4: done } },
    registry: { ...done, hosts: { host1: done } },
    cluster: { ...done, hosts: {} },
  },
};

const hostFacts = new Map([
  ['host1', installedHost('host1', '10.231.0.10', [6443, 2379, 2380, 10250, 5000])],
  ['host4', installedHost('host4', '10.231.0.13', [10250])],
]);
const inputs = config.hosts.map((h) => ({ config: h, facts: hostFacts.get(h.name)! }));
const failures = (r: ReturnType<typeof evaluate>) => r.findings.filter((f) => f.status === 'fail').map((f) => `${f.host} ${f.id}: ${f.measured}`);

describe('preflight on an installed appliance', () => {
  it('without the journal the appliance looks like a stranger: its ports and disks fail', () => {
    const r = evaluate({ config, hosts: inputs });
    expect(failures(r)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^host1 ports\.free: in use: 6443, 2379, 2380, 10250, 5000/),
        expect.stringMatching(/^host1 disk\.empty: crypto_LUKS/),
      ]),
    );
  });

  it('with it, they are reported as in use by the appliance and it passes', () => {
    const owned = applianceOwnership(config, journal, hostFacts);
    const r = evaluate({ config, hosts: inputs, owned });
    expect(failures(r)).toEqual([]);
    expect(r.summary.ok).toBe(true);
    const host1Ports = r.findings.find((f) => f.host === 'host1' && f.id === 'ports.free')!;
    expect(host1Ports.measured).toBe('in use by the appliance: 6443 (k3s API), 2379 (etcd client), 2380 (etcd peer), 10250 (kubelet), 5000 (pack registry)');
    expect(r.findings.find((f) => f.host === 'host4' && f.id === 'disk.empty')!.measured).toBe("in use by the appliance: the appliance's LUKS2 volume");
    expect(renderReport(r)).not.toMatch(/wipefs|stop what listens/);
  });

  it('a port the appliance does not own still fails, naming only that port', () => {
    const extra = new Map(hostFacts);
    extra.set('host4', installedHost('host4', '10.231.0.13', [10250, 443]));
    const owned = applianceOwnership(config, { ...journal, phases: { ...journal.phases, cluster: { status: 'running', hosts: { host1: done } } } }, extra);
    const r = evaluate({ config, hosts: config.hosts.map((h) => ({ config: h, facts: extra.get(h.name)! })), owned });
    expect(failures(r)).toEqual(['host4 ports.free: in use: 10250, 443']);
  });

  it("a disk the journal never encrypted is not taken as the appliance's", () => {
    const j = { ...journal, phases: { ...journal.phases, encrypt: { status: 'done' as const, hosts: { host1: done, host4: { status: 'failed' as const } } } } };
    const r = evaluate({ config, hosts: inputs, owned: applianceOwnership(config, j, hostFacts) });
    expect(failures(r)).toEqual([expect.stringMatching(/^host4 disk\.empty: crypto_LUKS signature/)]);
  });
});

describe('unique.product_uuid', () => {
  it('unreadable everywhere is "could not be checked", a warning, not ok', () => {
    const f = clusterChecks(inputs).find((x) => x.id === 'unique.product_uuid')!;
    expect(f.status).toBe('warn');
    expect(f.measured).toBe('could not be checked: unreadable on host1, host4');
  });
});
