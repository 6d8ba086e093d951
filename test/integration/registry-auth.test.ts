import { execFileSync } from 'node:child_process';
import { createPrivateKey, randomBytes, sign, X509Certificate } from 'node:crypto';
import type http from 'node:http';
import https from 'node:https';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseChallenges, parseTokenResponse, scopeFor, tokenUrl } from '../../installer/registry/auth.ts';
import { RegistryClient } from '../../installer/registry/client.ts';
import { seedRegistry } from '../../installer/registry/seed.ts';
import { verifyRegistry } from '../../installer/registry/verify.ts';
import type { TestBundle } from '../../scripts/bundle/build-test-bundle.ts';
import { makeTestPki, startProxy, startRegistry, type RunningRegistry, type TestPki } from '../fixtures/bundle/harness.ts';
import { smallBundle } from '../fixtures/bundle/small-bundle.ts';

describe('auth challenges (pure)', () => {
  it('parses bearer and basic challenges with quoted parameters', () => {
    expect(parseChallenges('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"')).toEqual([
      { scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull,push' } },
    ]);
    expect(parseChallenges('Basic realm="palisade-registry"')).toEqual([{ scheme: 'basic', params: { realm: 'palisade-registry' } }]);
    expect(parseChallenges(['Basic realm="x"', 'Bearer realm="y",service=z']).map((c) => c.scheme)).toEqual(['basic', 'bearer']);
    expect(parseChallenges('Bearer realm="a\\"b"')[0]?.params.realm).toBe('a"b');
    expect(parseChallenges(undefined)).toEqual([]);
  });

  it('builds the token URL with every scope and reads either token field', () => {
    const u = tokenUrl({ scheme: 'bearer', params: { realm: 'https://auth/token', service: 'reg', scope: 'repository:x:pull' } }, scopeFor('y', true, 'x'));
    expect(u.searchParams.get('service')).toBe('reg');
    expect(u.searchParams.getAll('scope').sort()).toEqual(['repository:x:pull', 'repository:y:pull,push']);
    expect(scopeFor(undefined, false)).toEqual(['registry:catalog:*']);
    expect(parseTokenResponse({ access_token: 'abc', expires_in: 300 })).toEqual({ token: 'abc', expiresIn: 300 });
    expect(parseTokenResponse({ token: 'abc' })).toEqual({ token: 'abc', expiresIn: 60 });
    expect(parseTokenResponse({ nothing: true })).toBeUndefined();
  });
});

/**
 * Bearer tokens end to end: the real registry in token mode trusts a signing
 * certificate; a tiny token server here issues ES256 JWTs per the
 * distribution token spec after checking basic credentials.
 */
describe('bearer token auth against the real registry', () => {
  let work: string;
  let pki: TestPki;
  let tb: TestBundle;
  let reg: RunningRegistry;
  let tokenServer: http.Server;
  const calls: Array<{ scopes: string[]; user: string | undefined; ok: boolean }> = [];
  /** JWT exp relative to now, while the response still says 300 s; the registry allows 60 s of clock skew, so -58 lives ~2 s */
  let jwtLife = 300;
  let realm = '';
  const USER = 'robot';
  const PASSWORD = 'token-password';

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'palisade-token-'));
    pki = await makeTestPki(join(work, 'pki'));
    tb = await smallBundle(join(work, 'bundle'), { images: 2 });
    execFileSync(
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
        'token.key',
        '-out',
        'token.crt',
        '-days',
        '2',
        '-subj',
        '/CN=token signer',
      ],
      { cwd: pki.dir, stdio: 'ignore' },
    );
    const key = createPrivateKey(await readFile(join(pki.dir, 'token.key')));
    const certDer = new X509Certificate(await readFile(join(pki.dir, 'token.crt'))).raw.toString('base64');
    const b64url = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
    tokenServer = https.createServer({ key: pki.keyPem, cert: pki.certPem }, (req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      const auth = req.headers.authorization ?? '';
      const [user, pass] = Buffer.from(auth.replace(/^Basic /, ''), 'base64')
        .toString()
        .split(':');
      const scopes = u.searchParams.getAll('scope');
      const ok = user === USER && pass === PASSWORD;
      calls.push({ scopes, user, ok });
      if (!ok) {
        res.writeHead(401, { 'Content-Type': 'application/json' });
        return res.end('{"errors":[{"code":"UNAUTHORIZED"}]}');
      }
      const now = Math.floor(Date.now() / 1000);
      const access = scopes.map((s) => {
        const [type, ...rest] = s.split(':');
        const actions = (rest.pop() ?? '').split(',');
        return { type, name: rest.join(':'), actions: actions.includes('*') ? ['*'] : actions };
      });
      const header = b64url({ typ: 'JWT', alg: 'ES256', x5c: [certDer] });
      const claims = b64url({
        iss: 'palisade-test-issuer',
        sub: user,
        aud: u.searchParams.get('service'),
        exp: now + jwtLife,
        nbf: now - 10,
        iat: now,
        jti: randomBytes(8).toString('hex'),
        access,
      });
      const sig = sign('sha256', Buffer.from(`${header}.${claims}`), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ token: `${header}.${claims}.${sig}`, expires_in: 300 }));
    });
    await new Promise<void>((r) => tokenServer.listen(0, '127.0.0.1', r));
    const a = tokenServer.address();
    realm = `https://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/token`;
    reg = await startRegistry({
      dir: join(work, 'reg'),
      pki,
      auth: { token: { realm, service: 'palisade-test-registry', issuer: 'palisade-test-issuer', rootCertBundle: join(pki.dir, 'token.crt') } },
    });
  });
  afterAll(async () => {
    await reg?.stop();
    await new Promise((r) => tokenServer?.close(r));
    await rm(work, { recursive: true, force: true });
  });

  it('seeds with tokens scoped per repository (including the mount source) and verifies', async () => {
    const r = await seedRegistry({ url: reg.url, ca: pki.caPem, username: USER, password: PASSWORD, tokenRealm: realm, bundle: tb.path });
    expect(r.blobs.uploaded).toBeGreaterThan(0);
    expect(r.blobs.mounted).toBeGreaterThan(0);
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.every((c) => c.ok && c.user === USER)).toBe(true);
    const all = calls.flatMap((c) => c.scopes);
    expect(all).toContain('repository:palisade/test-app-1:pull,push');
    // a cross-repository mount asks for pull on the source as well
    expect(calls.some((c) => c.scopes.some((s) => s.endsWith(':pull,push')) && c.scopes.some((s) => /^repository:[^:]+:pull$/.test(s)))).toBe(true);
    const v = await verifyRegistry({ url: reg.url, ca: pki.caPem, username: USER, password: PASSWORD, tokenRealm: realm, bundle: tb.path });
    expect(v.ok).toBe(true);
  });

  it('lists the catalog with a registry:catalog:* token', async () => {
    const client = new RegistryClient({ url: reg.url, ca: pki.caPem, username: USER, password: PASSWORD, tokenRealm: realm });
    try {
      expect(await client.catalog()).toContain('packs/k3s');
      expect(calls.at(-1)?.scopes).toContain('registry:catalog:*');
    } finally {
      client.close();
    }
  });

  it('fetches a new token when one expires during a chunked upload, and the upload still verifies', async () => {
    const proxy = await startProxy({ target: reg.url, pki });
    try {
      jwtLife = -58;
      proxy.decide = (req) => (req.method === 'PATCH' ? { delayMs: 150 } : 'pass');
      const t = await smallBundle(join(work, 'bundle-expiring'), { images: 2, layerSize: 128 << 10 });
      const before = calls.length;
      const r = await seedRegistry({
        url: proxy.url,
        ca: pki.caPem,
        username: USER,
        password: PASSWORD,
        tokenRealm: realm,
        bundle: t.path,
        chunkSize: 16 << 10,
        concurrency: 2,
      });
      expect(r.bytes.uploaded).toBe(r.bytes.total);
      // some request was refused with the dead token and answered again with a fresh one
      expect(proxy.requests.some((q) => q.status === 401 && q.method === 'PATCH')).toBe(true);
      expect(calls.length - before).toBeGreaterThan(2);
      jwtLife = 300;
      expect(
        (await verifyRegistry({ url: reg.url, ca: pki.caPem, username: USER, password: PASSWORD, tokenRealm: realm, bundle: t.path, deep: true })).ok,
      ).toBe(true);
    } finally {
      jwtLife = 300;
      await proxy.stop();
    }
  });

  it('reports a token service refusal as registry.auth', async () => {
    await expect(seedRegistry({ url: reg.url, ca: pki.caPem, username: USER, password: 'nope', tokenRealm: realm, bundle: tb.path })).rejects.toMatchObject({
      code: 'registry.auth',
      message: expect.stringContaining('token service'),
    });
  });
});
