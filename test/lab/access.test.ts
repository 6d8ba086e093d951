/**
 * Tenant access on the lab: an install with `access:` configured applies it (namespaces,
 * quotas, NetworkPolicies, ClusterRoles, RoleBindings in the cluster; the OIDC flags in the
 * controller's k3s configuration); a team's changed groups update exactly that team's
 * bindings; a project dropped from the config is pruned by label and its namespace released.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getLab, labSsh } from './lab.ts';

const repo = resolve(import.meta.dirname, '../..');
const cli = join(repo, 'installer/bin/palisade.js');
const dir = join(repo, '.cache', 'lab-access', String(process.pid));
const env = { ...process.env, PALISADE_PASSPHRASE: 'lab access passphrase 42', CI: '1' };

function palisade(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const p = spawn(process.execPath, [cli, ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    p.on('close', (code) => res({ code: code ?? 1, stdout, stderr }));
  });
}

const access = {
  oidc: { issuerUrl: 'https://idp.lab.internal/realms/ops', clientId: 'palisade', caFile: 'idp-ca.pem', requiredClaims: { hd: 'lab.internal' } },
  tenants: [
    {
      name: 'acme',
      projects: [
        { name: 'web', namespaces: ['acme-web', '/acme-web-pr-[0-9]+/'], quota: { cpu: '2', memory: '4Gi', pods: 20 } },
        { name: 'data', namespaces: ['acme-data'] },
      ],
    },
    { name: 'globex', projects: [{ name: 'shop', namespaces: ['globex-shop'] }] },
  ],
  teams: [
    { name: 'acme-devs', oidcGroups: ['acme-eng'] },
    { name: 'globex-devs', oidcGroups: ['globex-eng'] },
  ],
  roleBindings: [
    { team: 'acme-devs', role: 'project-editor', scope: 'tenant/acme' },
    { team: 'globex-devs', role: 'project-admin', scope: 'project/globex/shop' },
  ],
};

function writeConfig(a: unknown): void {
  const c = parse(readFileSync(getLab().configPath, 'utf8')) as Record<string, any>;
  c.cluster.name = 'access';
  c.hosts = [{ ...(c.hosts as any[]).find((h) => h.name === 'host1'), role: 'controller' }];
  c.encryption = { mode: 'none' };
  c.preflight = { ignore: [...new Set([...(c.preflight?.ignore ?? []), 'time.sync', 'airgap.route', 'disk.latency'])] };
  c.access = a;
  writeFileSync(join(dir, 'palisade.yaml'), stringify(c));
}

const kubectlJson = (args: string) =>
  JSON.parse(labSsh('host1', `k3s kubectl ${args} -o json`).stdout) as {
    items: Array<{ kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; subjects?: Array<{ name: string }> }>;
  };
const owned = (kind: string) => kubectlJson(`get ${kind} --all-namespaces -l palisade.io/owner=access`).items;

function cleanHost1(): void {
  labSsh(
    'host1',
    [
      'systemctl stop k3s palisade-registry 2>/dev/null; systemctl disable k3s palisade-registry >/dev/null 2>&1',
      'rm -rf /etc/rancher/k3s /var/lib/rancher/k3s /usr/local/bin/k3s /etc/systemd/system/k3s.service /etc/systemd/system/palisade-registry.service /etc/palisade /usr/local/lib/palisade /var/lib/palisade/registry /etc/sysctl.d/90-palisade.conf /etc/modules-load.d/palisade.conf',
      "sed -i -E '/ # palisade$/d; s/^# (.*) # palisade: replaced$/\\1/' /etc/hosts; systemctl daemon-reload; true",
    ].join('\n'),
    { timeoutMs: 120_000 },
  );
}

let bundle = '';
let trustedKey = '';
beforeAll(() => {
  cleanHost1();
  mkdirSync(dir, { recursive: true });
  const b = spawnSync(join(repo, 'scripts/bundle/build-test-bundle'), ['--work', join(dir, 'bundle-work')], { encoding: 'utf8' });
  expect(b.status, b.stderr).toBe(0);
  bundle = /bundle: (\S+)/.exec(b.stdout)![1]!;
  trustedKey = /trusted key: (\S+)/.exec(b.stdout)![1]!;
  // any CA will do: the stand-in does not call the issuer; real k3s reads the file at start
  const ca = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      '/dev/null',
      '-subj',
      '/CN=lab idp ca',
      '-days',
      '2',
      '-out',
      join(dir, 'idp-ca.pem'),
    ],
    { encoding: 'utf8' },
  );
  expect(ca.status, ca.stderr).toBe(0);
  writeConfig(access);
});
afterAll(() => cleanHost1());

describe('tenant access on the lab', () => {
  it('install applies access: namespaces, quotas, policies, roles and bindings; the OIDC flags reach the controller', async () => {
    const r = await palisade(['install', '-c', 'palisade.yaml', '--bundle', bundle, '--trusted-key', trustedKey, '--yes']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const ns = owned('namespaces')
      .map((n) => `${n.metadata.name}:${n.metadata.labels?.['palisade.io/tenant']}/${n.metadata.labels?.['palisade.io/project']}`)
      .sort();
    expect(ns).toEqual(['acme-data:acme/data', 'acme-web:acme/web', 'globex-shop:globex/shop']);
    expect(owned('resourcequotas').map((q) => q.metadata.namespace)).toEqual(['acme-web']);
    expect(
      owned('networkpolicies')
        .map((q) => q.metadata.namespace)
        .sort(),
    ).toEqual(['acme-data', 'acme-web', 'globex-shop']);
    expect(owned('clusterroles').length).toBe(7);
    expect(
      owned('rolebindings')
        .map((b) => b.metadata.namespace)
        .sort(),
    ).toEqual(['acme-data', 'acme-web', 'globex-shop']);
    const cfg = labSsh('host1', 'cat /etc/rancher/k3s/config.yaml; echo; cat /etc/rancher/k3s/palisade-oidc-ca.crt | head -1').stdout;
    expect(cfg).toMatch(/kube-apiserver-arg:\n {2}- "oidc-issuer-url=https:\/\/idp\.lab\.internal\/realms\/ops"/);
    expect(cfg).toContain('- "oidc-ca-file=/etc/rancher/k3s/palisade-oidc-ca.crt"');
    expect(cfg).toContain('- "oidc-required-claim=hd=lab.internal"');
    expect(cfg).toContain('-----BEGIN CERTIFICATE-----');
  });

  it('a changed OIDC setting reconfigures and restarts the controller on the next install run, access untouched', async () => {
    const started = () => labSsh('host1', 'systemctl show k3s -p ActiveEnterTimestampMonotonic --value').stdout.trim();
    const before = started();
    writeConfig({ ...access, oidc: { ...access.oidc, clientId: 'palisade-ops' } });
    const r = await palisade(['install', '-c', 'palisade.yaml', '--bundle', bundle, '--trusted-key', trustedKey, '--yes', '--output', 'json']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const ran = r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .filter((e) => e.status === 'done')
      .map((e) => e.phase);
    expect(ran).toContain('cluster');
    expect(ran).not.toContain('access');
    expect(labSsh('host1', 'cat /etc/rancher/k3s/config.yaml').stdout).toContain('- "oidc-client-id=palisade-ops"');
    expect(started()).not.toBe(before);
    writeConfig(access);
  });

  it('a namespace created later is claimed by the next apply when a /regex/ matches it', async () => {
    expect(labSsh('host1', `echo '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"acme-web-pr-12"}}' | k3s kubectl apply -f -`).code).toBe(0);
    const r = await palisade(['access', 'apply', '-c', 'palisade.yaml', '--output', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.namespaces).toContain('acme-web-pr-12');
    expect(
      owned('resourcequotas')
        .map((q) => q.metadata.namespace)
        .sort(),
    ).toEqual(['acme-web', 'acme-web-pr-12']);
  });

  it("changing a team's groups and re-applying updates exactly that team's bindings", async () => {
    const before = new Map(owned('rolebindings').map((b) => [`${b.metadata.namespace}/${b.metadata.name}`, JSON.stringify(b.subjects)]));
    writeConfig({ ...access, teams: access.teams.map((t) => (t.name === 'acme-devs' ? { ...t, oidcGroups: ['acme-eng', 'acme-contractors'] } : t)) });
    const r = await palisade(['access', 'apply', '-c', 'palisade.yaml', '--output', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.created).toEqual([]);
    expect(out.configured.length).toBe(3); // acme-web, acme-web-pr-12, acme-data
    const after = owned('rolebindings');
    const changed = after
      .filter((b) => before.get(`${b.metadata.namespace}/${b.metadata.name}`) !== JSON.stringify(b.subjects))
      .map((b) => b.metadata.namespace)
      .sort();
    expect(changed).toEqual(['acme-data', 'acme-web', 'acme-web-pr-12']);
    expect(after.find((b) => b.metadata.namespace === 'globex-shop')!.subjects!.map((s) => s.name)).toEqual(['oidc:globex-eng']);
  });

  it('a project dropped from the config: its objects pruned by label, its namespace released and kept', async () => {
    writeConfig({
      ...access,
      tenants: access.tenants.filter((t) => t.name !== 'globex'),
      teams: access.teams.filter((t) => t.name !== 'globex-devs'),
      roleBindings: access.roleBindings.slice(0, 1),
    });
    const r = await palisade(['access', 'apply', '-c', 'palisade.yaml']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/released Namespace\/globex-shop \(left in place/);
    expect(owned('rolebindings').map((b) => b.metadata.namespace)).not.toContain('globex-shop');
    expect(owned('networkpolicies').map((b) => b.metadata.namespace)).not.toContain('globex-shop');
    const ns = kubectlJson('get namespaces').items.find((n) => n.metadata.name === 'globex-shop');
    expect(ns, 'the namespace stays').toBeDefined();
    expect(ns!.metadata.labels?.['palisade.io/owner']).toBeUndefined();
  });
});
