/**
 * HTTPS to a host through its SSH connection (RemoteHost.openTunnel, ssh2
 * direct-tcpip), as the install does for hosts behind the jump host: a real
 * loopback sshd, the real registry and a node https server behind it. The URL
 * names an address nothing listens on (10.231.0.254, in the registry
 * certificate's SAN), so only the tunnel can reach the server, and TLS is
 * still checked against that address with our CA.
 */
import { execFileSync } from 'node:child_process';
import { createServer, request, type Server } from 'node:https';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, connectHost } from '../../installer/hosts/index.ts';
import { tlsOver, type OpenStream } from '../../installer/core/https.ts';
import { viaHost } from '../../installer/hosts/tunnel.ts';
import type { RemoteHost } from '../../installer/hosts/types.ts';
import { RegistryClient } from '../../installer/registry/client.ts';
import { seedRegistry } from '../../installer/registry/seed.ts';
import { verifyRegistry } from '../../installer/registry/verify.ts';
import type { TestBundle } from '../../scripts/bundle/build-test-bundle.ts';
import { freePort, makeTestPki, startRegistry, type RunningRegistry, type TestPki } from '../fixtures/bundle/harness.ts';
import { smallBundle } from '../fixtures/bundle/small-bundle.ts';
import { startSshd, type Sshd } from '../fixtures/sshd.ts';
import { failure } from '../fixtures/errors.ts';

const BEHIND = '10.231.0.254';
const PASSWORD = 'tunnel password';
let work: string;
let sshd: Sshd;
let host: RemoteHost;
let pki: TestPki;
let reg: RunningRegistry;
let tb: TestBundle;
let api: Server;
let apiPort: number;

/** viaHost(host), counting the streams it opens and the ports asked for */
function counted(): { open: OpenStream; ports: number[] } {
  const ports: number[] = [];
  const inner = viaHost(host);
  return { ports, open: (port, h) => (ports.push(port), inner(port, h)) };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'palisade-tunnel-'));
  sshd = await startSshd();
  host = await connectHost(
    { name: 'behind', address: '127.0.0.1', port: sshd.port, user: 'root', privateKey: sshd.keys.ed25519.path, hostKey: sshd.hostKeyFingerprint },
    {},
  );
  pki = await makeTestPki(join(work, 'pki'), { ips: [BEHIND] });
  reg = await startRegistry({ dir: join(work, 'reg'), pki, users: { seeder: PASSWORD } });
  tb = await smallBundle(join(work, 'bundle'), { images: 2, layerSize: 32 << 10 });
  api = createServer({ cert: pki.certPem, key: pki.keyPem }, (req, res) => res.end(req.url === '/readyz' ? 'ok' : 'no'));
  apiPort = await freePort();
  await new Promise<void>((r) => api.listen(apiPort, '127.0.0.1', r));
}, 120_000);

afterAll(async () => {
  await closeAll(host ? [host] : []);
  await reg?.stop();
  await new Promise((r) => (api ? api.close(r) : r(undefined)));
  await sshd?.stop();
  await rm(work, { recursive: true, force: true });
});

const access = (o: { port?: number; ca?: string; address?: string } = {}) => ({
  url: `https://${o.address ?? BEHIND}:${o.port ?? reg.port}`,
  ca: o.ca ?? pki.caPem,
  username: 'seeder',
  password: PASSWORD,
  attempts: 1,
});

function get(open: OpenStream, o: { servername: string; ca: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: BEHIND, port: apiPort, path: '/readyz', servername: o.servername, ca: o.ca, timeout: 10_000, createConnection: tlsOver(open) },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(`${res.statusCode} ${body}`));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

describe('HTTPS through a host SSH connection', () => {
  it('openTunnel gives a stream to the host loopback; a closed port is ECONNREFUSED', async () => {
    expect(typeof host.openTunnel).toBe('function');
    const s: Duplex = await host.openTunnel!(reg.port);
    s.destroy();
    const closed = await freePort();
    await expect(host.openTunnel!(closed)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('seeds and verifies the real registry through the tunnel, TLS checked with our CA', async () => {
    const t = counted();
    const r = await seedRegistry({ ...access(), attempts: 3, bundle: tb.path, connect: t.open });
    expect(r.blobs.uploaded + r.blobs.mounted).toBe(r.blobs.total);
    expect(r.manifests.pushed).toBe(r.manifests.total);
    expect(t.ports.length).toBeGreaterThan(0);
    expect(new Set(t.ports)).toEqual(new Set([reg.port]));
    // keep-alive: many requests over few tunnelled connections
    expect(r.requests).toBeGreaterThan(t.ports.length);
    const v = await verifyRegistry({ ...access(), bundle: tb.path, deep: true, connect: t.open });
    expect(v.problems).toEqual([]);
    expect(v.ok).toBe(true);
  }, 120_000);

  it('closing the client closes its tunnelled connections (sshd holds none to the registry afterwards)', async () => {
    const sshdConns = () =>
      execFileSync('ss', ['-Htnp', 'state', 'established', `dport = :${reg.port}`], { encoding: 'utf8' })
        .split('\n')
        .filter((l) => l.includes('"sshd'));
    const c = new RegistryClient({ ...access(), connect: counted().open });
    await c.ping();
    expect(sshdConns().length).toBeGreaterThan(0);
    c.close();
    for (let i = 0; i < 50 && sshdConns().length; i++) await new Promise((r) => setTimeout(r, 100));
    expect(sshdConns()).toEqual([]);
  });

  it('a wrong CA is refused through the tunnel too', async () => {
    const t = counted();
    const c = new RegistryClient({ ...access({ ca: pki.otherCaPem }), connect: t.open });
    try {
      const e = await failure(c.ping());
      expect(e.code).toBe('registry.tls');
    } finally {
      c.close();
    }
    expect(t.ports).toEqual([reg.port]);
  });

  it('the certificate must name the URL address, as on a direct connection', async () => {
    const c = new RegistryClient({ ...access({ address: '10.231.0.253' }), connect: counted().open });
    try {
      const e = await failure(c.ping());
      expect(e.code).toBe('registry.tls');
      expect(e.message).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID/);
    } finally {
      c.close();
    }
  });

  it('nothing listening behind the tunnel is registry.unreachable', async () => {
    const c = new RegistryClient({ ...access({ port: await freePort() }), connect: counted().open });
    try {
      const e = await failure(c.ping());
      expect(e.code).toBe('registry.unreachable');
      expect(e.message).toMatch(/ECONNREFUSED/);
    } finally {
      c.close();
    }
  });

  it('https.request with createConnection (the verify phase API check): servername and CA verified', async () => {
    const t = counted();
    expect(await get(t.open, { servername: 'localhost', ca: pki.caPem })).toBe('200 ok');
    expect(t.ports).toEqual([apiPort]);
    await expect(get(t.open, { servername: 'palisade.elsewhere.internal', ca: pki.caPem })).rejects.toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    await expect(get(t.open, { servername: 'localhost', ca: pki.otherCaPem })).rejects.toThrow(/certificate/i);
  });
});
