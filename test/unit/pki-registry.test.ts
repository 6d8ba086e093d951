import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeySet, type KeySet } from '../../installer/pki/keyset.ts';
import { renderRegistryConfig } from '../../installer/registry/config.ts';
import { freePort, REGISTRY_BIN } from '../fixtures/bundle/harness.ts';

/**
 * The generated registry certificate and credentials in the real CNCF
 * registry (Debian's docker-registry): TLS checked against the generated root
 * only, basic auth checked by the registry against the generated htpasswd line.
 */

const dir = mkdtempSync(join(tmpdir(), 'pki-registry-'));
let ks: KeySet;
let proc: ChildProcess | undefined;
let port = 0;
const NAME = 'registry.palisade.lab.internal';

function get(o: { user?: string; password?: string; ca?: string; servername?: string }): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = o.user ? { authorization: `Basic ${Buffer.from(`${o.user}:${o.password}`).toString('base64')}` } : {};
    const req = request({ host: '127.0.0.1', port, path: '/v2/', ca: o.ca ?? ks.rootCa.certPem, servername: o.servername ?? NAME, headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  if (!existsSync(REGISTRY_BIN)) return;
  ks = await generateKeySet({ cluster: 'demo', fqdn: 'palisade.lab.internal', hosts: [{ name: 'host1', address: '127.0.0.1', role: 'controller' }] });
  port = await freePort();
  writeFileSync(join(dir, 'tls.crt'), ks.registry.chainPem);
  writeFileSync(join(dir, 'tls.key'), ks.registry.keyPem, { mode: 0o600 });
  writeFileSync(join(dir, 'htpasswd'), ks.secrets.registry.htpasswd, { mode: 0o600 });
  const cfg = join(dir, 'config.yml');
  writeFileSync(
    cfg,
    renderRegistryConfig({
      addr: `127.0.0.1:${port}`,
      storageDir: join(dir, 'storage'),
      certFile: join(dir, 'tls.crt'),
      keyFile: join(dir, 'tls.key'),
      htpasswdFile: join(dir, 'htpasswd'),
      logLevel: 'warn',
      httpSecret: 'pki-registry-test-secret',
    }),
  );
  const log = openSync(join(dir, 'registry.log'), 'a');
  proc = spawn(REGISTRY_BIN, ['serve', cfg], { stdio: ['ignore', log, log] });
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) throw new Error(`registry exited: ${readFileSync(join(dir, 'registry.log'), 'utf8')}`);
    if (
      await get({}).then(
        () => true,
        () => false,
      )
    )
      return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('registry did not start');
}, 60_000);

afterAll(async () => {
  if (proc && proc.exitCode === null) {
    proc.kill('SIGTERM');
    await new Promise((r) => proc!.once('exit', r));
  }
});

describe.skipIf(!existsSync(REGISTRY_BIN))('the generated registry certificate and credentials in the real registry', () => {
  it('TLS verifies against the generated root only, by the registry name', async () => {
    expect(await get({})).toBe(401);
    const other = await generateKeySet({
      cluster: 'other',
      fqdn: 'palisade.lab.internal',
      hosts: [{ name: 'host1', address: '127.0.0.1', role: 'controller' }],
    });
    await expect(get({ ca: other.rootCa.certPem })).rejects.toThrow(/unable to get local issuer|unable to verify|self.signed/);
    await expect(get({ servername: 'elsewhere.example' })).rejects.toThrow(/altnames|does not match/i);
  });

  it('the registry accepts the generated password against the generated bcrypt htpasswd line, and nothing else', async () => {
    const c = ks.secrets.registry;
    expect(await get({ user: c.username, password: c.password })).toBe(200);
    expect(await get({ user: c.username, password: `${c.password}x` })).toBe(401);
    expect(await get({ user: 'admin', password: c.password })).toBe(401);
  });
});
