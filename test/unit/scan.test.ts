import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parseHardeningProbe } from '../../installer/hardening/parse.ts';
import { BASELINE_RULES } from '../../installer/hardening/rules/index.ts';
import type { HostState } from '../../installer/hardening/types.ts';
import { certificateFindings, clusterConfigFindings, ruleFindings } from '../../installer/scan/compliance.ts';
import { diffScans } from '../../installer/scan/diff.ts';
import { CHART_FAIL_COLOR, renderScanHtml } from '../../installer/scan/html.ts';
import { hostSbom } from '../../installer/scan/sbom.ts';
import { expectedPorts, portFindings, setidFindings, worldWritableFindings } from '../../installer/scan/security.ts';
import { scanId } from '../../installer/scan/store.ts';
import { summarizeFindings, type Finding, type ScanResult } from '../../installer/scan/types.ts';
import { dbAge, inRange, matchPackages, parseVulnDbFiles } from '../../installer/scan/vulndb.ts';

const fixtures = join(import.meta.dirname, '../fixtures');
const state = (patch: (s: HostState) => void = () => {}): HostState => {
  const s = parseHardeningProbe(readFileSync(join(fixtures, 'hardening/lab-fresh.txt'), 'utf8'), { host: 'host1', loginUser: 'root' });
  patch(s);
  return s;
};
const vulndbDir = join(fixtures, 'scan/vulndb');
const db = parseVulnDbFiles(readdirSync(vulndbDir).map((name) => ({ name, text: readFileSync(join(vulndbDir, name), 'utf8') })));

describe('OSV records matched with Debian versions', () => {
  it('ranges: introduced, fixed, last_affected, in Debian order (tildes, epochs)', () => {
    expect(inRange('1.0', [{ introduced: '0' }, { fixed: '1.1' }])).toBe(true);
    expect(inRange('1.1', [{ introduced: '0' }, { fixed: '1.1' }])).toBe(false);
    expect(inRange('1.1~rc1', [{ introduced: '0' }, { fixed: '1.1' }])).toBe(true);
    expect(inRange('1:0.5', [{ introduced: '0' }, { fixed: '9.9' }])).toBe(false);
    expect(inRange('2.0', [{ introduced: '1.5' }, { last_affected: '2.0' }])).toBe(true);
    expect(inRange('2.0+deb12u1', [{ introduced: '1.5' }, { last_affected: '2.0' }])).toBe(false);
    expect(inRange('1.0', [{ introduced: '1.5' }])).toBe(false);
  });
  it('a vulnerable installed package is a failing finding naming the fix; other ecosystems and epochs do not match', () => {
    const s = state((x) => (x.packages['palisade-patch-probe'] = { name: 'palisade-patch-probe', version: '1.0', status: 'ii' }));
    const f = matchPackages('host1', s.packages, db);
    expect(f).toEqual([
      {
        check: 'vuln.PALISADE-TEST-0001',
        host: 'host1',
        status: 'fail',
        title: expect.stringMatching(/before 1\.1/),
        detail: 'palisade-patch-probe 1.0, fixed in 1.1',
      },
    ]);
    // openssh-server 1:9.2p1 has an epoch: newer than "9.9"; sudo's PyPI record is another ecosystem
    expect(s.packages['openssh-server']!.version).toMatch(/^1:9\.2p1/);
    const patched = state((x) => (x.packages['palisade-patch-probe'] = { name: 'palisade-patch-probe', version: '1.1', status: 'ii' }));
    expect(matchPackages('host1', patched.packages, db)).toEqual([]);
  });
  it('a database older than the allowed age is stale', () => {
    expect(dbAge(db, Date.parse('2026-12-01T00:00:00Z'), 30)).toEqual({ built: '2026-11-30T00:00:00.000Z', ageDays: 1, stale: false, records: 3 });
    expect(dbAge(db, Date.parse('2027-02-01T00:00:00Z'), 30).stale).toBe(true);
    expect(() => parseVulnDbFiles([{ name: 'x.json', text: '{}' }])).toThrow(/metadata\.json/);
  });
});

describe('security checks', () => {
  it('ports: expected ones pass, loopback is informational, anything else fails', () => {
    const s = state((x) => (x.listening = ['tcp 0.0.0.0:22', 'tcp [::]:22', 'udp 127.0.0.1:323', 'tcp 0.0.0.0:8080']));
    const f = portFindings(s, expectedPorts('worker', { sshPort: 22 }));
    expect(f.map((x) => `${x.check} ${x.status}`)).toEqual([
      'port.tcp.0.0.0.0:22 pass',
      'port.tcp.[::]:22 pass',
      'port.udp.127.0.0.1:323 info',
      'port.tcp.0.0.0.0:8080 fail',
    ]);
    expect(expectedPorts('controller', { sshPort: 22, registryPort: 5000 }).tcp).toEqual(expect.arrayContaining([6443, 2379, 5000]));
  });
  it('set-id programs Debian does not ship that way fail; world-writable files fail one by one', () => {
    const s = state((x) => {
      x.suid = [...x.suid, '/opt/tool/rootshell'];
      x.worldWritable = ['/etc/planted'];
    });
    expect(
      setidFindings(s)
        .filter((f) => f.status === 'fail')
        .map((f) => f.check),
    ).toEqual(['setid./opt/tool/rootshell']);
    expect(worldWritableFindings(s)).toMatchObject([{ check: 'world-writable./etc/planted', status: 'fail' }]);
    expect(worldWritableFindings(state())).toMatchObject([{ check: 'world-writable', status: 'pass' }]);
  });
});

describe('compliance checks', () => {
  it('the hardening rules become findings, exceptions with their reason', () => {
    const f = ruleFindings(state(), BASELINE_RULES, [{ rule: 'ssh.x11', reason: 'site needs it' }]);
    expect(f.find((x) => x.check === 'ssh.x11')).toMatchObject({ status: 'excepted', detail: expect.stringMatching(/site needs it/) });
    expect(f.find((x) => x.check === 'ssh.max-auth-tries')).toMatchObject({ status: 'fail', title: expect.stringMatching(/CIS 5\.1\.16/) });
  });
  it('cluster settings from k3s config.yaml: secrets encryption, anonymous auth, RBAC', () => {
    const ok = clusterConfigFindings('host1', 'secrets-encryption: true\nkube-apiserver-arg:\n  - "oidc-issuer-url=https://x"\n');
    expect(ok.map((f) => f.status)).toEqual(['pass', 'pass', 'pass']);
    const bad = clusterConfigFindings('host1', 'kube-apiserver-arg:\n  - "anonymous-auth=true"\n  - "authorization-mode=AlwaysAllow"\n');
    expect(bad.map((f) => `${f.check} ${f.status}`)).toEqual(['k8s.secrets-encryption fail', 'k8s.anonymous-auth fail', 'k8s.rbac fail']);
  });
  it('certificate lifetimes: expiring soon or longer than 398 days fails', () => {
    const now = Date.parse('2026-12-01T00:00:00Z');
    expect(certificateFindings('h', { notBefore: '2026-06-01T00:00:00Z', notAfter: '2027-06-01T00:00:00Z' }, now)[0]!.status).toBe('pass');
    expect(certificateFindings('h', { notBefore: '2025-12-20T00:00:00Z', notAfter: '2026-12-20T00:00:00Z' }, now)[0]!.detail).toMatch(/expires in 19 days/);
    expect(certificateFindings('h', { notBefore: '2026-01-01T00:00:00Z', notAfter: '2036-01-01T00:00:00Z' }, now)[0]!.detail).toMatch(/more than 398/);
  });
});

function result(id: string, findings: Finding[], startedAt = '2026-12-01T00:00:00Z'): ScanResult {
  return {
    id,
    type: 'security',
    cluster: 'lab',
    startedAt,
    finishedAt: startedAt,
    versions: { scanner: 'palisade 0.1.0', rules: 'r' },
    hosts: ['h1', 'h2'],
    findings,
    summary: summarizeFindings(findings),
    notes: [],
  };
}
const f = (host: string, check: string, status: Finding['status']): Finding => ({ check, host, status, detail: `${check} on ${host}` });

describe('scan history', () => {
  it('diff: newly failing, fixed and still failing, by check and host', () => {
    const a = result('security-a', [f('h1', 'x', 'fail'), f('h2', 'x', 'pass'), f('h1', 'y', 'fail'), f('h1', 'z', 'pass')]);
    const b = result('security-b', [f('h1', 'x', 'fail'), f('h2', 'x', 'fail'), f('h1', 'y', 'pass'), f('h2', 'w', 'fail')]);
    const d = diffScans(a, b);
    expect(d.newlyFailing.map((x) => `${x.host} ${x.check}`)).toEqual(['h2 w', 'h2 x']);
    expect(d.fixed.map((x) => `${x.host} ${x.check}`)).toEqual(['h1 y']);
    expect(d.stillFailing.map((x) => `${x.host} ${x.check}`)).toEqual(['h1 x']);
  });
  it('ids sort by time and never collide', () => {
    const at = new Date('2026-12-01T08:15:00.123Z');
    expect(scanId('security', at, new Set())).toBe('security-20261201T081500Z');
    expect(scanId('security', at, new Set(['security-20261201T081500Z']))).toBe('security-20261201T081500Z-2');
  });
  it('the HTML report is self-contained: summary, per-host table, a bar per scan in the trend', () => {
    const hist = [
      result('security-1', [f('h1', 'x', 'fail'), f('h1', 'y', 'fail')], '2026-11-01T00:00:00Z'),
      result('security-2', [f('h1', 'x', 'fail'), f('h2', '<script>', 'fail')]),
    ];
    const html = renderScanHtml(hist[1]!, hist);
    expect(html).toMatch(/<section id="summary">/);
    expect(html.match(new RegExp(`fill="${CHART_FAIL_COLOR}"`, 'g'))).toHaveLength(2);
    expect(html).not.toMatch(/<script|src=|href="http/);
    expect(html).toContain('&lt;script&gt;');
  });
});

describe('SBOM', () => {
  it('a host SBOM is valid CycloneDX 1.5 with a package URL per installed package', () => {
    const s = state();
    const doc = hostSbom('host1', { id: 'debian', version: '12', arch: 'amd64' }, s.packages, {
      timestamp: '2026-12-01T00:00:00Z',
      tool: { name: 'palisade', version: '0.1.0' },
    });
    const dir = join(fixtures, 'bundle/cyclonedx');
    const ajv = new Ajv({ strict: false, validateFormats: false });
    // the BOM schema refers to these relative to its own $id
    for (const x of ['spdx.SNAPSHOT.schema.json', 'jsf-0.82.SNAPSHOT.schema.json']) {
      const { $id: _id, ...schema } = JSON.parse(readFileSync(join(dir, x), 'utf8')) as Record<string, unknown>;
      ajv.addSchema(schema, `http://cyclonedx.org/schema/${x}`);
    }
    const validate = ajv.compile(JSON.parse(readFileSync(join(dir, 'bom-1.5.SNAPSHOT.schema.json'), 'utf8')));
    expect(validate(doc), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
    expect(validate({ ...doc, components: [{ type: 'not-a-type', name: 'x' }] })).toBe(false);
    const comps = (doc as { components: Array<{ name: string; purl: string }> }).components;
    expect(comps.length).toBe(Object.values(s.packages).filter((p) => p.status === 'ii').length);
    expect(comps.find((c) => c.name === 'openssh-server')!.purl).toMatch(/^pkg:deb\/debian\/openssh-server@1%3A9\.2p1.*\?arch=amd64&distro=debian-12$/);
  });
});
