/**
 * A real kubectl against the k3s stand-in, as an operator uses it first on a new
 * appliance: discovery, nodes, namespaces, secrets, configmaps, events, with the
 * kubeconfig the server writes (its client certificate, its CA).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const k3s = resolve(import.meta.dirname, '../../scripts/bundle/k3s-standin/k3s');
const KUBECTL = spawnSync('bash', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).stdout.trim();
const procs: ChildProcess[] = [];
let dir: string;
let kubeconfig: string;
let kubeconfig2: string;

const freePort = (): Promise<number> =>
  new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });

function start(cfg: string): Promise<void> {
  return new Promise((res, rej) => {
    let log = '';
    const proc = spawn(k3s, ['server'], { env: { ...process.env, K3S_CONFIG_FILE: cfg }, stdio: ['ignore', 'ignore', 'pipe'] });
    procs.push(proc);
    const t = setTimeout(() => rej(new Error(`stand-in did not start: ${log}`)), 20_000);
    proc.stderr!.on('data', (c: Buffer) => {
      log += c.toString();
      if (log.includes('k3s is up and running')) {
        clearTimeout(t);
        res();
      }
    });
  });
}

const kubectl = (args: string[], kc = kubeconfig) => spawnSync(KUBECTL, ['--kubeconfig', kc, ...args], { encoding: 'utf8', timeout: 30_000 });

beforeAll(async () => {
  if (!KUBECTL) return;
  dir = await mkdtemp(join(tmpdir(), 'standin-kubectl-'));
  const [p1, p2] = [await freePort(), await freePort()];
  const cfg = (name: string, extra: string) =>
    `token: "the-token-123456"\nnode-name: "${name}"\ndata-dir: "${join(dir, name)}"\nwrite-kubeconfig: "${join(dir, `${name}.kubeconfig`)}"\n${extra}`;
  await writeFile(join(dir, 's1.yaml'), cfg('s1', `cluster-init: true\nhttps-listen-port: ${p1}\n`));
  await writeFile(join(dir, 's2.yaml'), cfg('s2', `server: "https://127.0.0.1:${p1}"\nhttps-listen-port: ${p2}\n`));
  await start(join(dir, 's1.yaml'));
  await start(join(dir, 's2.yaml'));
  kubeconfig = join(dir, 's1.kubeconfig');
  kubeconfig2 = join(dir, 's2.kubeconfig');
  // what the install applies, through the stand-in's own kubectl (the driver's path)
  const apply = spawnSync(k3s, ['kubectl', 'apply', '-f', '-'], {
    env: { ...process.env, KUBECONFIG: kubeconfig },
    encoding: 'utf8',
    input: JSON.stringify([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'palisade-system' } },
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'registry-credentials', namespace: 'palisade-system', labels: { 'app.kubernetes.io/managed-by': 'palisade' } },
        type: 'Opaque',
        data: { username: 'YWRtaW4=' },
      },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'palisade-info', namespace: 'palisade-system' }, data: { fqdn: 'palisade.lab.internal' } },
    ]),
  });
  expect(apply.status, apply.stderr).toBe(0);
}, 60_000);

afterAll(() => {
  for (const p of procs) p.kill('SIGTERM');
});

describe.skipIf(!KUBECTL)('a real kubectl against the stand-in', () => {
  it('discovery: api-resources lists what it serves', () => {
    const r = kubectl(['api-resources', '--api-group=']);
    expect(r.status, r.stderr).toBe(0);
    for (const res of ['nodes', 'namespaces', 'secrets', 'configmaps', 'events']) expect(r.stdout).toMatch(new RegExp(`^${res}\\s`, 'm'));
  });

  it('get nodes: both servers, Ready', () => {
    const r = kubectl(['get', 'nodes', '-o', 'json']);
    expect(r.status, r.stderr).toBe(0);
    const items = (JSON.parse(r.stdout) as { items: Array<{ metadata: { name: string }; status: { conditions: Array<{ type: string; status: string }> } }> })
      .items;
    expect(items.map((n) => n.metadata.name).sort()).toEqual(['s1', 's2']);
    expect(items.every((n) => n.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True'))).toBe(true);
    expect(kubectl(['get', 'nodes']).stdout).toMatch(/^NAME\s/m);
  });

  it('get ns: the built-in namespaces and palisade-system', () => {
    const r = kubectl(['get', 'ns', '-o', 'name']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.split('\n').filter(Boolean)).toEqual([
      'namespace/default',
      'namespace/kube-node-lease',
      'namespace/kube-public',
      'namespace/kube-system',
      'namespace/palisade-system',
    ]);
  });

  it('get secrets and configmaps in palisade-system, by name and by label; NotFound is a NotFound', () => {
    const s = kubectl(['get', 'secrets', '-n', 'palisade-system', '-o', 'jsonpath={.items[*].metadata.name}']);
    expect(s.status, s.stderr).toBe(0);
    expect(s.stdout).toBe('registry-credentials');
    const one = kubectl(['get', 'secret', 'registry-credentials', '-n', 'palisade-system', '-o', 'jsonpath={.data.username}']);
    expect(Buffer.from(one.stdout, 'base64').toString()).toBe('admin');
    expect(kubectl(['get', 'secrets', '-A', '-l', 'app.kubernetes.io/managed-by=palisade', '-o', 'name']).stdout.trim()).toBe('secret/registry-credentials');
    expect(kubectl(['get', 'secrets', '-A', '-l', 'app.kubernetes.io/managed-by=nobody', '-o', 'name']).stdout.trim()).toBe('');
    expect(kubectl(['get', 'cm', 'palisade-info', '-n', 'palisade-system', '-o', 'jsonpath={.data.fqdn}']).stdout).toBe('palisade.lab.internal');
    const missing = kubectl(['get', 'secret', 'nope', '-n', 'palisade-system']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/NotFound|not found/);
  });

  it('get events answers (none recorded)', () => {
    const r = kubectl(['get', 'events', '-A']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/No resources found/);
  });

  it('a joining server answers the same, from the first one', () => {
    const r = kubectl(['get', 'secrets', '-n', 'palisade-system', '-o', 'name'], kubeconfig2);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('secret/registry-credentials');
  });
});
