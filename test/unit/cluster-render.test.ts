import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { renderK3sConfig, renderK3sUnit, renderRegistries, rewriteKubeconfig, unitName, imagesDir } from '../../installer/cluster/k3s-render.ts';
import type { ClusterSpec, NodeSpec } from '../../installer/cluster/types.ts';

const spec: ClusterSpec = {
  token: 'tok"en\'with$odd#chars',
  fqdn: 'palisade.lab.internal',
  vip: '10.231.0.100',
  podCidr: '10.42.0.0/16',
  serviceCidr: '10.43.0.0/16',
  firstServer: { name: 'host1', address: '10.231.0.10' },
  registry: {
    endpoint: '10.231.0.10:5000',
    username: 'palisade',
    password: 'p@ss: word',
    caPem: '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n',
  },
  apiServerArgs: ['oidc-issuer-url=https://idp.x/r', 'oidc-required-claim=hd=a b'],
};
const first: NodeSpec = { name: 'host1', address: '10.231.0.10', role: 'first' };
const second: NodeSpec = { name: 'host2', address: '10.231.0.11', role: 'server' };
const agent: NodeSpec = { name: 'host4', address: '10.231.0.13', role: 'agent' };

describe('k3s config.yaml', () => {
  it('first controller: cluster-init, tls-san with FQDN, VIP and its address, secrets encryption, no server', () => {
    const c = parse(renderK3sConfig(first, spec)) as Record<string, unknown>;
    expect(c).toMatchObject({
      token: spec.token,
      'node-name': 'host1',
      'cluster-init': true,
      'secrets-encryption': true,
      'tls-san': ['palisade.lab.internal', '10.231.0.100', '10.231.0.10'],
      'write-kubeconfig-mode': '0600',
      'cluster-cidr': '10.42.0.0/16',
    });
    expect(c.server).toBeUndefined();
    expect(c['data-dir']).toBeUndefined();
  });
  it('joining controller: server is the first controller, no cluster-init', () => {
    const c = parse(renderK3sConfig(second, { ...spec, dataDir: '/var/lib/palisade/k3s' })) as Record<string, unknown>;
    expect(c).toMatchObject({
      server: 'https://10.231.0.10:6443',
      'data-dir': '/var/lib/palisade/k3s',
      'tls-san': ['palisade.lab.internal', '10.231.0.100', '10.231.0.11'],
    });
    expect(c['cluster-init']).toBeUndefined();
  });
  it('agent: token and server only, no server-side keys', () => {
    const c = parse(renderK3sConfig(agent, spec)) as Record<string, unknown>;
    expect(Object.keys(c).sort()).toEqual(['node-ip', 'node-name', 'server', 'token']);
  });
  it('API server flags (OIDC) go to every controller, never to an agent', () => {
    const args = ['oidc-issuer-url=https://idp.x/r', 'oidc-groups-prefix=oidc:'];
    expect((parse(renderK3sConfig(first, { ...spec, apiServerArgs: args })) as Record<string, unknown>)['kube-apiserver-arg']).toEqual(args);
    expect((parse(renderK3sConfig(second, { ...spec, apiServerArgs: args })) as Record<string, unknown>)['kube-apiserver-arg']).toEqual(args);
    expect((parse(renderK3sConfig(agent, { ...spec, apiServerArgs: args })) as Record<string, unknown>)['kube-apiserver-arg']).toBeUndefined();
  });
  it('the k3s stand-in reads the same values back (its YAML subset covers what we write)', () => {
    const standin = join(import.meta.dirname, '..', '..', 'scripts', 'bundle', 'k3s-standin', 'k3s');
    const py = `import importlib.machinery,importlib.util,json,sys\nl=importlib.machinery.SourceFileLoader('k3s',${JSON.stringify(standin)})\nm=importlib.util.module_from_spec(importlib.util.spec_from_loader('k3s',l))\nl.exec_module(m)\nprint(json.dumps(m.parse_config(sys.stdin.read())))`;
    for (const n of [first, second, agent]) {
      const text = renderK3sConfig(n, spec);
      const out = JSON.parse(execFileSync('python3', ['-c', py], { input: text }).toString()) as unknown;
      expect(out).toEqual(parse(text));
    }
  });
});

describe('registries.yaml', () => {
  it('mirrors docker.io, the registry itself and "*" to the local registry, with our CA and credentials', () => {
    const r = parse(renderRegistries(spec)!) as {
      mirrors: Record<string, { endpoint: string[] }>;
      configs: Record<string, { auth: { username: string; password: string }; tls: { ca_file: string } }>;
    };
    expect(r.mirrors['docker.io']?.endpoint).toEqual(['https://10.231.0.10:5000']);
    expect(r.mirrors['*']?.endpoint).toEqual(['https://10.231.0.10:5000']);
    expect(r.configs['10.231.0.10:5000']).toEqual({
      auth: { username: 'palisade', password: 'p@ss: word' },
      tls: { ca_file: '/etc/rancher/k3s/palisade-registry-ca.crt' },
    });
  });
  it('none without a registry', () => {
    expect(renderRegistries({ ...spec, registry: undefined } as ClusterSpec)).toBeUndefined();
  });
});

describe('systemd unit and paths', () => {
  it('server and agent units as install.sh writes them', () => {
    expect(unitName('first')).toBe('k3s');
    expect(unitName('agent')).toBe('k3s-agent');
    const u = renderK3sUnit('server');
    expect(u).toMatch(/^Type=notify$/m);
    expect(u).toMatch(/^ExecStart=\/usr\/local\/bin\/k3s server$/m);
    expect(renderK3sUnit('agent')).toMatch(/^ExecStart=\/usr\/local\/bin\/k3s agent$/m);
    expect(u).not.toContain('token');
  });
  it('images go to <data-dir>/agent/images', () => {
    expect(imagesDir(spec)).toBe('/var/lib/rancher/k3s/agent/images');
    expect(imagesDir({ ...spec, dataDir: '/var/lib/palisade/k3s' })).toBe('/var/lib/palisade/k3s/agent/images');
  });
});

describe('kubeconfig', () => {
  it('rewrites every cluster server to the FQDN and keeps the rest', () => {
    const kc = `apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: QUJD\n    server: https://127.0.0.1:6443\n  name: default\nusers:\n- name: default\n  user:\n    client-key-data: S0VZ\n`;
    const out = parse(rewriteKubeconfig(kc, 'https://palisade.lab.internal:6443')) as {
      clusters: Array<{ cluster: { server: string; 'certificate-authority-data': string } }>;
      users: unknown[];
    };
    expect(out.clusters[0]?.cluster).toEqual({ 'certificate-authority-data': 'QUJD', server: 'https://palisade.lab.internal:6443' });
    expect(out.users).toHaveLength(1);
    expect(() => rewriteKubeconfig('apiVersion: v1\n', 'x')).toThrow(/no cluster/);
  });
});
