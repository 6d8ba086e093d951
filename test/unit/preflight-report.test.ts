import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { configSchema, type PalisadeConfig } from '../../installer/config/schema.ts';
import { parseProbeOutput } from '../../installer/facts/parse.ts';
import type { HostFacts } from '../../installer/facts/types.ts';
import { evaluate, isWaived, renderReport, requiredPorts, type PreflightReport } from '../../installer/preflight/report.ts';
import { preflightReportSchema } from '../../installer/preflight/schema.ts';

const fx = (n: string) => readFileSync(join(import.meta.dirname, '../fixtures/facts', n), 'utf8');
const labFacts = (name: string, file: string, address: string): HostFacts => {
  const f = parseProbeOutput(fx(file), { name, address, fqdn: 'palisade.lab.internal', dataDisk: '/dev/vdb' });
  f.time = { ...f.time, sentAtMs: f.time.epochMs! - 20, receivedAtMs: f.time.epochMs! + 20 };
  return f;
};
const admin = parseProbeOutput(fx('local-debian12.txt'), { name: '(admin)', fqdn: 'palisade.lab.internal' });

function labConfig(over: Record<string, unknown> = {}): PalisadeConfig {
  return configSchema.parse({
    apiVersion: 'palisade/v1',
    cluster: { name: 'lab', fqdn: 'palisade.lab.internal' },
    sizing: { profile: 'custom', custom: { controller: { cpus: 2, memoryGiB: 11, diskGB: 2.1 }, worker: { cpus: 2, memoryGiB: 11, diskGB: 2.1 } } },
    hosts: [
      { name: 'host1', address: '10.231.0.10', role: 'controller', dataDisk: '/dev/vdb' },
      { name: 'host2', address: '10.231.0.11', role: 'controller', dataDisk: '/dev/vdb' },
      { name: 'host4', address: '10.231.0.13', role: 'worker', dataDisk: '/dev/vdb' },
    ],
    ...over,
  });
}

const ajv = new Ajv({ strict: true, allErrors: true, validateFormats: false });
const validate = ajv.compile(preflightReportSchema as object);

function report(cfg = labConfig(), extra: Partial<Parameters<typeof evaluate>[0]> = {}): PreflightReport {
  return evaluate({
    config: cfg,
    hosts: [
      { config: cfg.hosts[0]!, facts: labFacts('host1', 'lab-host1.txt', '10.231.0.10') },
      { config: cfg.hosts[1]!, facts: labFacts('host2', 'lab-host2.txt', '10.231.0.11') },
      {
        config: cfg.hosts[2]!,
        error: { code: 'ssh.unreachable', message: 'host4 (10.231.0.13:22) is unreachable: connection refused', hint: 'check that sshd listens' },
      },
    ],
    admin,
    ...extra,
  });
}
const find = (r: PreflightReport, id: string, host: string) => r.findings.find((f) => f.id === id && f.host === host);

describe('report on recorded lab facts', () => {
  const r = report();

  it('the JSON document validates against the documented schema', () => {
    expect(validate(JSON.parse(JSON.stringify(r))), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...r, summary: { ...r.summary, ok: 'yes' } })).toBe(false);
    expect(validate({ ...r, findings: [{ ...r.findings[0], status: 'maybe' }] })).toBe(false);
  });

  it('an unreachable host is a failure of that host, with the reason; the others still report', () => {
    expect(find(r, 'host.reachable', 'host4')).toMatchObject({
      status: 'fail',
      measured: expect.stringMatching(/^ssh.unreachable: .*connection refused/),
      fix: 'check that sshd listens',
    });
    expect(r.findings.filter((f) => f.host === 'host4')).toHaveLength(1);
    expect(r.hosts.find((h) => h.name === 'host4')).toMatchObject({ reachable: false, roundTrips: 0 });
    expect(r.hosts.find((h) => h.name === 'host1')).toMatchObject({ reachable: true, roundTrips: 1 });
    expect(find(r, 'disk.size', 'host1')?.status).toBe('pass');
  });

  it('finds what the recorded lab really lacks, and nothing else', () => {
    const problems = r.findings.filter((f) => f.status !== 'pass').map((f) => `${f.host} ${f.id} ${f.status}`);
    expect(problems.sort()).toEqual([
      '(admin) airgap.route fail', // this machine routes to the internet
      '(admin) dns.fqdn warn', // this machine does not resolve the lab FQDN (the kubeconfig's name)
      '(admin) time.sync warn', // no NTP client answers on this machine
      '(cluster) unique.product_uuid warn', // nspawn hosts cannot read their SMBIOS UUID: not checked
      'host1 disk.latency warn', // recorded with 4 hosts probing one disk at once: p99 8 ms
      'host1 sysctl.inotify_instances warn',
      'host1 time.sync fail', // chronyd does not run in the lab hosts
      'host2 disk.latency warn',
      'host2 sysctl.inotify_instances warn',
      'host2 sysctl.ip_forward warn',
      'host2 time.sync fail',
      'host4 host.reachable fail',
    ]);
    expect(r.summary).toEqual({ pass: r.findings.filter((f) => f.status === 'pass').length, warn: 8, fail: 4, waived: 0, ok: false });
  });

  it('the FQDN is checked from the admin side too, with a way to reach the API meanwhile', () => {
    const f = find(r, 'dns.fqdn', '(admin)')!;
    expect(f.status).toBe('warn');
    expect(f.fix).toMatch(/until then: kubectl --server https:\/\/[\d.]+:6443 --tls-server-name palisade\.lab\.internal/);
  });

  it('the admin air gap is judged on its real routes', () => {
    expect(find(r, 'airgap.route', '(admin)')?.measured).toMatch(/^routes to 1\.1\.1\.1, 8\.8\.8\.8, 9\.9\.9\.9 via 192\.0\.2\.1 dev eth0/);
  });

  it('renders a table grouped by host with a summary line', () => {
    const text = renderReport(r);
    expect(text).toMatch(/^HOST\s+CHECK\s+STATUS\s+MEASURED\s+REQUIRED\s+FIX$/m);
    expect(text).toMatch(/^host4\s+host\.reachable\s+FAIL\s+ssh\.unreachable/m);
    expect(text).toMatch(/^host4: UNREACHABLE/m);
    expect(text.trim().split('\n').pop()).toMatch(/^FAILED: 4 failed, 8 warnings, \d+ passed, 0 waived; 3 hosts, profile custom/);
  });
});

describe('waivers', () => {
  it('config.preflight.ignore and --ignore waive, by id or id@host, and the report says so', () => {
    const cfg = labConfig({ preflight: { ignore: ['time.sync'] } });
    const r = report(cfg, { ignore: ['airgap.route@(admin)', 'host.reachable@host4'] });
    expect(find(r, 'time.sync', 'host1')).toMatchObject({ status: 'waived', waivedStatus: 'fail' });
    expect(find(r, 'time.sync', '(admin)')).toMatchObject({ status: 'waived', waivedStatus: 'warn' });
    expect(find(r, 'airgap.route', '(admin)')).toMatchObject({ status: 'waived', waivedStatus: 'fail' });
    expect(find(r, 'airgap.route', 'host1')?.status).toBe('pass');
    expect(r.summary).toMatchObject({ fail: 0, ok: true });
    expect(r.summary.waived).toBe(5);
    expect(renderReport(r)).toMatch(/time\.sync\s+waived \(FAIL\)/);
    expect(isWaived(['disk.size@host2'], { id: 'disk.size', host: 'host1' })).toBe(false);
  });
});

describe('local mode and ports', () => {
  it('--local checks this machine as a controller, without data disk or skew checks', () => {
    const r = evaluate({ config: labConfig(), hosts: [], admin, local: true });
    expect(r.local).toBe(true);
    expect(r.hosts).toEqual([expect.objectContaining({ name: '(admin)', role: 'admin' })]);
    const ids = r.findings.map((f) => f.id);
    expect(ids).toContain('cpu.count');
    expect(ids).toContain('airgap.route');
    expect(ids.filter((i) => i.startsWith('disk.') || i === 'time.skew')).toEqual([]);
    expect(validate(JSON.parse(JSON.stringify(r)))).toBe(true);
  });

  it('--host: the FQDN may point at a controller that is not checked in this run', () => {
    const cfg = labConfig();
    const f = labFacts('host2', 'lab-host2.txt', '10.231.0.11');
    expect(f.fqdn.addresses).toEqual(['10.231.0.10']);
    const r = evaluate({ config: cfg, hosts: [{ config: cfg.hosts[1]!, facts: f }] });
    expect(find(r, 'dns.fqdn', 'host2')?.status).toBe('pass');
  });

  it('controllers need the control-plane ports, the registry host its port too', () => {
    const cfg = labConfig({ registry: { port: 5443, host: 'host2' } });
    expect(requiredPorts(cfg, cfg.hosts[0]!)).toEqual([6443, 2379, 2380, 10250, 443]);
    expect(requiredPorts(cfg, cfg.hosts[1]!)).toEqual([6443, 2379, 2380, 10250, 443, 5443]);
    expect(requiredPorts(cfg, cfg.hosts[2]!)).toEqual([10250, 443]);
  });
});
