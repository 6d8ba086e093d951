import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../installer/config/load.ts';
import { renderManifests, renderTemplate, objectMatches } from '../../installer/cluster/manifests.ts';
import { topology } from '../../installer/config/topology.ts';
import { clusterSpec } from '../../installer/phases/install/shared/cluster.ts';
import { INSTALL_PHASES } from '../../installer/phases/install/index.ts';
import { INSTALL_PHASE_IDS } from '../../installer/phases/install/ids.ts';
import { hostsCheck, hostsRewrite, parseNotes, parseProbe, prepareFiles, prepareProbe, prepareScript } from '../../installer/cluster/prepare.ts';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectPhases } from '../../installer/phases/runner.ts';

const yaml = `apiVersion: palisade/v1
cluster: { name: lab, fqdn: palisade.lab.internal }
hosts:
  - { name: host1, address: 10.231.0.10, role: controller }
  - { name: host2, address: 10.231.0.11, role: controller }
  - { name: host3, address: 10.231.0.12, role: controller }
  - { name: host4, address: 10.231.0.13, role: worker }
`;

describe('install phases', () => {
  it('run in the documented order', () => {
    expect(INSTALL_PHASES.map((p) => p.id)).toEqual([
      'bundle',
      'connect',
      'facts',
      'preflight',
      'prepare',
      'harden',
      'encrypt',
      'keys',
      'registry',
      'seed',
      'cluster',
      'secrets',
      'access',
      'verify',
      'report',
    ]);
    // context phases always run; --only picks one more
    expect([...selectPhases(INSTALL_PHASES, { only: 'cluster' })]).toEqual(['bundle', 'connect', 'cluster']);
  });

  it('the phase names the CLI help lists are the phases, in order', () => {
    expect([...INSTALL_PHASE_IDS]).toEqual(INSTALL_PHASES.map((p) => p.id));
  });

  it('every install phase has its own unit test on the fake host', () => {
    const missing = INSTALL_PHASES.map((p) => p.id).filter((id) => !existsSync(join(import.meta.dirname, `phase-${id}.test.ts`)));
    expect(missing).toEqual([]);
  });

  it('node order: first controller, other controllers, workers; registry on the first controller', async () => {
    const { config } = await parseConfig(yaml, '/tmp/palisade.yaml');
    expect(topology(config).nodes.map((n) => `${n.name}:${n.role}`)).toEqual(['host1:first', 'host2:server', 'host3:server', 'host4:agent']);
    expect(topology(config).registry.url).toBe('https://10.231.0.10:5000');
  });

  it('cluster spec carries the token, the registry mirror with our CA, and the data dir', async () => {
    const { config } = await parseConfig(yaml, '/tmp/palisade.yaml');
    const keys = { secrets: { joinToken: 'T0KEN-123456', registry: { username: 'u', password: 'p', htpasswd: '' } }, rootCa: { certPem: 'CA' } } as never;
    expect(clusterSpec(config, keys, '/var/lib/palisade/k3s')).toMatchObject({
      token: 'T0KEN-123456',
      firstServer: { name: 'host1' },
      registry: { endpoint: '10.231.0.10:5000', caPem: 'CA' },
      dataDir: '/var/lib/palisade/k3s',
    });
  });
});

describe('prepare hosts', () => {
  const i = { fqdn: 'palisade.lab.internal', fqdnAddress: '10.231.0.10' };
  it('probe and script name the FQDN line; the boot files are desired files, not written by the script', () => {
    expect(prepareProbe(i)).toContain("'10.231.0.10 palisade.lab.internal # palisade'");
    const all = prepareScript(i, ['sysctl', 'modules', 'swap', 'hosts']);
    expect(all).toContain('palisade: replaced');
    expect(all).toMatch(/modprobe br_netfilter/);
    expect(all).toMatch(/sysctl -q -w net.ipv4.ip_forward=1/);
    expect(all).not.toContain('/etc/sysctl.d/90-palisade.conf');
    expect(prepareFiles().map((f) => [f.item, f.path, f.mode.toString(8)])).toEqual([
      ['sysctl', '/etc/sysctl.d/90-palisade.conf', '644'],
      ['modules', '/etc/modules-load.d/palisade.conf', '644'],
    ]);
    expect(String(prepareFiles()[0]!.source)).toContain('net.bridge.bridge-nf-call-iptables = 1');
  });
  it('the script does only the items asked for (the modules and sysctls together: the bridge sysctls need br_netfilter)', () => {
    const hostsOnly = prepareScript(i, ['hosts']);
    expect(hostsOnly).toContain('palisade: replaced');
    expect(hostsOnly).not.toMatch(/modprobe|sysctl -q -w|swapoff/);
    const sysctlOnly = prepareScript(i, ['sysctl']);
    expect(sysctlOnly).toMatch(/modprobe br_netfilter[\s\S]*sysctl -q -w/);
    expect(sysctlOnly).not.toMatch(/swapoff|palisade: replaced/);
  });
  it('/etc/hosts: our line is added once, an operator line mapping the FQDN elsewhere is commented out and kept', () => {
    const f = join(mkdtempSync(join(tmpdir(), 'hosts-')), 'hosts');
    writeFileSync(f, '127.0.0.1 localhost\n10.231.0.99 palisade.lab.internal\n10.0.0.5 other.lab.internal # note\n# 1.2.3.4 palisade.lab.internal\n');
    const hi = { ...i, hostsFile: f };
    const ok = () => spawnSync('bash', ['-c', hostsCheck(hi)]).status === 0;
    expect(ok()).toBe(false);
    execFileSync('bash', ['-c', hostsRewrite(hi)]);
    const once = readFileSync(f, 'utf8');
    expect(once).toBe(
      '127.0.0.1 localhost\n# 10.231.0.99 palisade.lab.internal # palisade: replaced\n10.0.0.5 other.lab.internal # note\n# 1.2.3.4 palisade.lab.internal\n10.231.0.10 palisade.lab.internal # palisade\n',
    );
    expect(ok()).toBe(true);
    execFileSync('bash', ['-c', hostsRewrite(hi)]);
    expect(readFileSync(f, 'utf8')).toBe(once);
    // pointed elsewhere later: our old line goes, the new one comes
    execFileSync('bash', ['-c', hostsRewrite({ ...hi, fqdnAddress: '10.231.0.20' })]);
    expect(readFileSync(f, 'utf8').match(/palisade\.lab\.internal # palisade$/gm)).toHaveLength(1);
    expect(readFileSync(f, 'utf8')).toContain('10.231.0.20 palisade.lab.internal # palisade\n');
  });

  it('parses TODO and NOTE lines', () => {
    expect(parseProbe('TODO sysctl\nTODO hosts\n')).toEqual(['sysctl', 'hosts']);
    expect(parseProbe('')).toEqual([]);
    expect(parseNotes('x\nNOTE skipped: host cannot load kernel module br_netfilter\n')).toEqual(['skipped: host cannot load kernel module br_netfilter']);
  });
});

describe('manifests', () => {
  const values = {
    secretsAtRestKey: 'QQ==',
    jwtPrivateKey: 'Qg==',
    jwtPublicKey: 'Qw==',
    passwordSalt: 'RA==',
    rootCaCert: 'RQ==',
    intermediateCaCert: 'Rg==',
    dockerConfigJson: 'Rw==',
    ingressCert: 'SA==',
    ingressKey: 'SQ==',
    ingressSource: 'generated',
    fqdn: 'palisade.lab.internal',
    registry: 'https://r:5000',
    bundle: 'b 1',
    version: '1',
  };
  it('namespace first, then secrets in palisade-system, pull secret and TLS secret typed', async () => {
    const objs = await renderManifests(values);
    expect(objs[0]).toMatchObject({ kind: 'Namespace', metadata: { name: 'palisade-system' } });
    expect(objs.filter((o) => o.kind === 'Secret').every((o) => o.metadata.namespace === 'palisade-system')).toBe(true);
    expect(objs.find((o) => o.metadata.name === 'palisade-registry')).toMatchObject({
      type: 'kubernetes.io/dockerconfigjson',
      data: { '.dockerconfigjson': 'Rw==' },
    });
    expect(objs.find((o) => o.metadata.name === 'palisade-ingress-tls')).toMatchObject({
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': 'SA==', 'tls.key': 'SQ==' },
    });
  });
  it('a value cannot break out of its quotes; a missing value is an error', () => {
    const o = renderTemplate('kind: ConfigMap\nmetadata: { name: x }\ndata:\n  a: "{{ v }}"\n', { v: 'x"\ninjected: true' });
    expect(o[0]?.data).toEqual({ a: 'x"\ninjected: true' });
    expect(() => renderTemplate('a: "{{ nope }}"', {})).toThrow(/no value for \{\{ nope \}\}/);
  });
  it('objectMatches compares data and type', () => {
    const want = { kind: 'Secret', metadata: { name: 'a' }, type: 'Opaque', data: { k: 'dg==' } };
    expect(objectMatches(want, { ...want, metadata: { name: 'a', uid: 'x' } })).toBe(true);
    expect(objectMatches(want, { ...want, data: { k: 'eA==' } })).toBe(false);
    expect(objectMatches(want, undefined)).toBe(false);
    expect(objectMatches({ ...want, data: { b: 'Yg==', a: 'YQ==' } }, { ...want, data: { a: 'YQ==', b: 'Yg==' } })).toBe(true);
  });
});
