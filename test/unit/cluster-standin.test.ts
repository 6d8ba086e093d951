/**
 * The k3s stand-in of the test bundle, run on this machine (no systemd: started directly,
 * K3S_CONFIG_FILE pointing at a temp config, a loopback port): it must enforce the join
 * token, serve HTTPS with its own CA, share that CA with joining servers, and keep objects.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const k3s = resolve(import.meta.dirname, '../../scripts/bundle/k3s-standin/k3s');
const procs: ChildProcess[] = [];
afterAll(() => {
  for (const p of procs) p.kill('SIGTERM');
});

const freePort = (): Promise<number> =>
  new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });

function start(cfg: string, role: 'server' | 'agent'): { proc: ChildProcess; log: () => string } {
  let log = '';
  const proc = spawn(k3s, [role], { env: { ...process.env, K3S_CONFIG_FILE: cfg }, stdio: ['ignore', 'ignore', 'pipe'] });
  proc.stderr!.on('data', (c: Buffer) => (log += c.toString()));
  procs.push(proc);
  return { proc, log: () => log };
}

async function until(fn: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

const kubectl = (kubeconfig: string, args: string[], input?: string) =>
  spawnSync(k3s, ['kubectl', ...args], { env: { ...process.env, KUBECONFIG: kubeconfig }, input, encoding: 'utf8' });

describe('k3s stand-in', () => {
  it('first server, a joining server with the token, an agent with a wrong token refused; kubectl against either server', async () => {
    const d = await mkdtemp(join(tmpdir(), 'k3s-standin-'));
    const [p1, p2] = [await freePort(), await freePort()];
    const cfg = (name: string, extra: string) =>
      `token: "the-token-123456"\nnode-name: "${name}"\ndata-dir: "${join(d, name)}"\nwrite-kubeconfig: "${join(d, `${name}.kubeconfig`)}"\n${extra}`;
    await writeFile(join(d, 's1.yaml'), cfg('s1', `cluster-init: true\nhttps-listen-port: ${p1}\ntls-san:\n  - "palisade.test.internal"\n`));
    await writeFile(join(d, 's2.yaml'), cfg('s2', `server: "https://127.0.0.1:${p1}"\nhttps-listen-port: ${p2}\n`));
    await writeFile(join(d, 'bad.yaml'), `token: "wrong-token"\nserver: "https://127.0.0.1:${p1}"\nnode-name: "bad"\n`);
    const s1 = start(join(d, 's1.yaml'), 'server');
    await until(() => s1.log().includes('k3s is up and running'));
    const s2 = start(join(d, 's2.yaml'), 'server');
    const bad = start(join(d, 'bad.yaml'), 'agent');
    await until(() => s2.log().includes('k3s is up and running'));
    await until(() => bad.log().includes('token rejected (401)'));
    expect(s1.log()).toMatch(/node bad presented a wrong token/);

    const kc1 = join(d, 's1.kubeconfig');
    const kc2 = join(d, 's2.kubeconfig');
    expect(kubectl(kc1, ['get', '--raw', '/readyz']).stdout).toBe('ok');
    const doc = JSON.stringify({
      kind: 'List',
      items: [
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'palisade-system' } },
        { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'palisade-system' }, data: { k: 'dg==' } },
      ],
    });
    const a = kubectl(kc2, ['apply', '-f', '-'], doc);
    expect(a.status, a.stderr).toBe(0);
    expect(a.stdout).toBe('namespace/palisade-system created\nsecret/s created\n');
    expect(kubectl(kc2, ['apply', '-f', '-'], doc).stdout).toBe('namespace/palisade-system unchanged\nsecret/s unchanged\n');
    expect(kubectl(kc1, ['get', 'secret', 's', '-n', 'palisade-system', '-o', 'jsonpath={.data.k}']).stdout).toBe('dg==');
    const nodes = JSON.parse(kubectl(kc1, ['get', 'nodes', '-o', 'json']).stdout) as { items: Array<{ metadata: { name: string } }> };
    expect(nodes.items.map((n) => n.metadata.name).sort()).toEqual(['s1', 's2']);
    // a secret in a namespace that does not exist is refused; a missing object is NotFound, or nothing with --ignore-not-found
    expect(kubectl(kc1, ['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x', namespace: 'nope' } })).status).toBe(1);
    expect(kubectl(kc1, ['get', 'secret', 'x', '-n', 'palisade-system']).status).toBe(1);
    expect(kubectl(kc1, ['get', 'secret', 'x', '-n', 'palisade-system', '--ignore-not-found', '-o', 'json'])).toMatchObject({ status: 0, stdout: '' });
    // the kinds tenant access is made of, listed across namespaces by label as the driver lists them
    const owned = { 'palisade.io/owner': 'access' };
    const access = JSON.stringify({
      kind: 'List',
      items: [
        { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'palisade:project-viewer', labels: owned }, rules: [] },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name: 'rb', namespace: 'palisade-system', labels: owned },
          subjects: [],
          roleRef: { kind: 'ClusterRole', name: 'palisade:project-viewer' },
        },
        {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'NetworkPolicy',
          metadata: { name: 'np', namespace: 'palisade-system', labels: { other: 'x' } },
          spec: { podSelector: {} },
        },
      ],
    });
    expect(kubectl(kc1, ['apply', '-f', '-'], access).stdout).toBe(
      'clusterrole/palisade:project-viewer created\nrolebinding/rb created\nnetworkpolicy/np created\n',
    );
    const names = (kind: string, sel: string) =>
      (
        JSON.parse(kubectl(kc2, ['get', kind, '--all-namespaces', '-l', sel, '-o', 'json']).stdout) as { items: Array<{ metadata: { name: string } }> }
      ).items.map((i) => i.metadata.name);
    expect(names('rolebindings', 'palisade.io/owner=access')).toEqual(['rb']);
    expect(names('networkpolicies', 'palisade.io/owner=access')).toEqual([]);
    expect(names('networkpolicies', 'other')).toEqual(['np']);
    expect(names('clusterroles', 'palisade.io/owner=access')).toEqual(['palisade:project-viewer']);
    expect(kubectl(kc1, ['delete', 'rolebinding', 'rb', '-n', 'palisade-system']).stdout).toBe('rolebinding "rb" deleted\n');
    // the serving certificate covers the tls-san and is issued by the CA in the kubeconfig
    const ca = Buffer.from(/certificate-authority-data: (\S+)/.exec(spawnSync('cat', [kc1], { encoding: 'utf8' }).stdout)![1]!, 'base64').toString();
    await writeFile(join(d, 'ca.crt'), ca);
    const verify = (name: string) =>
      spawnSync(
        'sh',
        [
          '-c',
          `echo | openssl s_client -connect 127.0.0.1:${p1} -CAfile ${join(d, 'ca.crt')} -verify_hostname ${name} 2>/dev/null | grep -q "Verify return code: 0 (ok)" && echo ok || echo refused`,
        ],
        { encoding: 'utf8' },
      ).stdout.trim();
    expect(verify('palisade.test.internal')).toBe('ok');
    expect(verify('other.test.internal')).toBe('refused');
    // a restart with another token refuses, as k3s does
    s1.proc.kill('SIGTERM');
    await writeFile(join(d, 's1.yaml'), cfg('s1', `cluster-init: true\nhttps-listen-port: ${p1}\n`).replace('the-token-123456', 'another-token-0000'));
    const again = spawnSync(k3s, ['server'], { env: { ...process.env, K3S_CONFIG_FILE: join(d, 's1.yaml') }, encoding: 'utf8', timeout: 10_000 });
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/bootstrap data already found and encrypted with different token/);
  });
});
