/**
 * The k3s stand-in with palisade's CA files in <data-dir>/server/tls before its first start, as k3s
 * takes custom CA certificates: it serves the API from them (openssl s_client with the palisade root
 * alone), issues the kubeconfig's client certificate from the client CA, hands the same CAs to a
 * server that joins with the full token, and refuses to send the secret to a server whose CA does not
 * match the token's hash. Without the files it makes CAs of its own, as k3s does.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caHash, clusterCaFiles, fullToken } from '../../installer/cluster/k3s-ca.ts';
import { clusterCaOf } from '../../installer/phases/install/shared/cluster.ts';
import { generateKeySet, type KeySet } from '../../installer/pki/keyset.ts';

const k3s = resolve(import.meta.dirname, '../../scripts/bundle/k3s-standin/k3s');
const KUBECTL = spawnSync('bash', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).stdout.trim();
const procs: ChildProcess[] = [];
const SECRET = 'custom-ca-secret-0123456789';

const freePort = (): Promise<number> =>
  new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });

function start(cfg: string, role: 'server' | 'agent'): { log: () => string } {
  let log = '';
  const proc = spawn(k3s, [role], { env: { ...process.env, K3S_CONFIG_FILE: cfg }, stdio: ['ignore', 'ignore', 'pipe'] });
  proc.stderr!.on('data', (c: Buffer) => (log += c.toString()));
  procs.push(proc);
  return { log: () => log };
}

async function until(fn: () => boolean, what: () => string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out: ${what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const sClient = (port: number, caFile: string) =>
  spawnSync('sh', ['-c', `openssl s_client -connect 127.0.0.1:${port} -CAfile ${caFile} -verify_return_error -showcerts </dev/null 2>&1`], {
    encoding: 'utf8',
    timeout: 20_000,
  });

let d: string;
let keys: KeySet;
let rootFile: string;
const ports: number[] = [];
const logs: Record<string, () => string> = {};

beforeAll(async () => {
  d = await mkdtemp(join(tmpdir(), 'standin-ca-'));
  keys = await generateKeySet({ cluster: 'ca', fqdn: 'palisade.ca.internal', hosts: [{ name: 's1', address: '127.0.0.1', role: 'controller' }] });
  rootFile = join(d, 'root.pem');
  await writeFile(rootFile, keys.rootCa.certPem);
  // palisade's CA files, as the driver places them, before the first start of s1
  for (const f of clusterCaFiles(join(d, 's1'), clusterCaOf(keys)!)) {
    await mkdir(dirname(f.path), { recursive: true });
    await writeFile(f.path, f.source as Buffer, { mode: f.mode });
  }
  for (let i = 0; i < 4; i++) ports.push(await freePort());
  const cfg = (name: string, token: string, extra: string) =>
    `token: ${JSON.stringify(token)}\nnode-name: "${name}"\ndata-dir: "${join(d, name)}"\nwrite-kubeconfig: "${join(d, `${name}.kubeconfig`)}"\n${extra}`;
  const ca = clusterCaOf(keys)!;
  const other = clusterCaOf(
    await generateKeySet({ cluster: 'other', fqdn: 'other.internal', hosts: [{ name: 'x', address: '127.0.0.2', role: 'controller' }] }),
  )!;
  await writeFile(join(d, 's1.yaml'), cfg('s1', SECRET, `cluster-init: true\nhttps-listen-port: ${ports[0]}\n`));
  await writeFile(join(d, 's2.yaml'), cfg('s2', fullToken(SECRET, ca), `server: "https://127.0.0.1:${ports[0]}"\nhttps-listen-port: ${ports[1]}\n`));
  await writeFile(join(d, 'impostor.yaml'), cfg('impostor', fullToken(SECRET, other), `server: "https://127.0.0.1:${ports[0]}"\n`));
  await writeFile(join(d, 'own.yaml'), cfg('own', SECRET, `cluster-init: true\nhttps-listen-port: ${ports[2]}\n`));
  logs.s1 = start(join(d, 's1.yaml'), 'server').log;
  await until(
    () => logs.s1!().includes('k3s is up and running'),
    () => logs.s1!(),
  );
  logs.s2 = start(join(d, 's2.yaml'), 'server').log;
  logs.impostor = start(join(d, 'impostor.yaml'), 'agent').log;
  logs.own = start(join(d, 'own.yaml'), 'server').log;
  await until(
    () => logs.s2!().includes('k3s is up and running'),
    () => logs.s2!(),
  );
  await until(
    () => logs.own!().includes('k3s is up and running'),
    () => logs.own!(),
  );
}, 120_000);

afterAll(() => {
  for (const p of procs) p.kill('SIGTERM');
});

describe('the k3s stand-in with palisade CA files (k3s custom CA certificates)', () => {
  it('serves the API from the palisade server CA: s_client verifies with the palisade root alone, on the first and the joined server', () => {
    for (const port of ports.slice(0, 2)) {
      const r = sClient(port, rootFile);
      expect(r.stdout).toMatch(/Verify return code: 0 \(ok\)/);
      expect(r.stdout).toMatch(/depth=2 O = palisade ca, CN = palisade ca root CA/);
      expect(r.stdout).toMatch(/depth=1 O = palisade ca, CN = palisade ca cluster server CA/);
    }
    // the files were used as they were, not replaced
    expect(readFileSync(join(d, 's1/server/tls/server-ca.crt'), 'utf8')).toBe(keys.clusterCa!.server.certPem + keys.rootCa.certPem);
  });

  it('the joined server got the same CA files (all five) from the first', () => {
    for (const f of ['server-ca.crt', 'client-ca.key', 'request-header-ca.crt', 'etcd/peer-ca.crt', 'etcd/server-ca.key']) {
      expect(readFileSync(join(d, 's2/server/tls', f), 'utf8'), f).toBe(readFileSync(join(d, 's1/server/tls', f), 'utf8'));
    }
  });

  it('the kubeconfig client certificate comes from the palisade client CA', () => {
    const kc = readFileSync(join(d, 's1.kubeconfig'), 'utf8');
    const cert = Buffer.from(/client-certificate-data: (\S+)/.exec(kc)![1]!, 'base64').toString();
    const leaf = join(d, 'admin.pem');
    const clientCa = join(d, 'client-ca.pem');
    execFileSync('sh', ['-c', `cat > ${leaf}`], { input: cert });
    execFileSync('sh', ['-c', `cat > ${clientCa}`], { input: keys.clusterCa!.client.certPem });
    expect(execFileSync('openssl', ['verify', '-partial_chain', '-purpose', 'sslclient', '-CAfile', clientCa, leaf], { encoding: 'utf8' })).toMatch(/: OK/);
  });

  it.skipIf(!KUBECTL)('a real kubectl with the written kubeconfig lists both servers, no insecure flag', () => {
    const r = spawnSync(KUBECTL, ['--kubeconfig', join(d, 's1.kubeconfig'), 'get', 'nodes', '-o', 'name'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual(['node/s1', 'node/s2']);
  });

  it('a node whose full token names another root sends nothing: "token CA hash does not match"', async () => {
    await until(
      () => /token CA hash does not match the Cluster CA certificate hash/.test(logs.impostor!()),
      () => logs.impostor!(),
    );
    expect(logs.impostor!()).toContain(caHash(keys.rootCa.certPem));
    expect(logs.s1!()).not.toMatch(/node impostor/);
  });

  it('without CA files it makes its own, as k3s does, and the palisade root does not verify it', () => {
    const r = sClient(ports[2]!, rootFile);
    expect(r.stdout).not.toMatch(/Verify return code: 0 \(ok\)/);
    expect(r.stdout).toMatch(/CN = k3s-server-ca@\d+/);
    expect(readFileSync(join(d, 'own/server/tls/client-ca.crt'), 'utf8')).toMatch(/BEGIN CERTIFICATE/);
  });
});
