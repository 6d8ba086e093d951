import http from 'node:http';
import https from 'node:https';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Digest } from '../../installer/bundle/oci.ts';
import { RegistryClient } from '../../installer/registry/client.ts';
import { makeTestPki, type TestPki } from '../fixtures/bundle/harness.ts';
import { failure } from '../fixtures/errors.ts';

/**
 * Where a registry's answers may send palisade, and what goes along: servers on
 * loopback that play a registry (basic or bearer), a token service over https on
 * another origin, one over plain http, and a stranger that records every
 * Authorization header it is sent.
 */
const USER = 'robot';
const PASSWORD = 'credential-routing-secret';
const BASIC = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

interface Seen {
  method: string;
  path: string;
  authorization: string | undefined;
}

interface Server {
  origin: string;
  seen: Seen[];
  handle: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  close(): Promise<void>;
}

let work: string;
let pki: TestPki;
const servers: Server[] = [];

async function serve(kind: 'https' | 'http', host: '127.0.0.1' | 'localhost'): Promise<Server> {
  const s: Server = {
    origin: '',
    seen: [],
    handle: (_req, res) => {
      res.writeHead(404);
      res.end();
    },
    close: async () => undefined,
  };
  const listener = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    s.seen.push({ method: req.method ?? '', path: req.url ?? '', authorization: req.headers.authorization });
    req.resume();
    req.on('end', () => s.handle(req, res));
  };
  const srv = kind === 'https' ? https.createServer({ key: pki.keyPem, cert: pki.certPem }, listener) : http.createServer(listener);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  s.origin = `${kind}://${host}:${(srv.address() as AddressInfo).port}`;
  s.close = () =>
    new Promise<void>((r) => {
      srv.closeAllConnections();
      srv.close(() => r());
    });
  servers.push(s);
  return s;
}

const client = (url: string, extra: { tokenRealm?: string } = {}): RegistryClient =>
  new RegistryClient({ url, ca: pki.caPem, username: USER, password: PASSWORD, attempts: 1, ...extra });

/** A registry that wants basic auth on every /v2 request. */
function basicRegistry(reg: Server, routes: (req: http.IncomingMessage, res: http.ServerResponse) => boolean): void {
  reg.handle = (req, res) => {
    if (req.headers.authorization !== BASIC) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="registry"' });
      return void res.end();
    }
    if (!routes(req, res)) {
      res.writeHead(404);
      res.end();
    }
  };
}

/** A registry that sends bearer challenges naming `realm`, and accepts the token "tok". */
function bearerRegistry(reg: Server, realm: string): void {
  reg.handle = (req, res) => {
    if (req.headers.authorization !== 'Bearer tok') {
      res.writeHead(401, { 'WWW-Authenticate': `Bearer realm="${realm}",service="registry"` });
      return void res.end();
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{}');
  };
}

function tokenService(t: Server): void {
  t.handle = (req, res) => {
    if (req.headers.authorization !== BASIC) {
      res.writeHead(401);
      return void res.end();
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ token: 'tok', expires_in: 300 }));
  };
}

const credentialsSeen = (s: Server): number => s.seen.filter((x) => x.authorization !== undefined).length;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'palisade-reg-creds-'));
  pki = await makeTestPki(join(work, 'pki'));
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await rm(work, { recursive: true, force: true });
});

describe('bearer token realms', () => {
  it('a realm over plain http gets no request at all, credentials least of all', async () => {
    const reg = await serve('https', '127.0.0.1');
    const plain = await serve('http', '127.0.0.1');
    tokenService(plain);
    bearerRegistry(reg, `${plain.origin}/token`);
    const c = client(reg.origin);
    try {
      const e = await failure(c.ping());
      expect(e.code).toBe('registry.auth');
      expect(e.message).toContain('not TLS');
      expect(plain.seen).toHaveLength(0);
    } finally {
      c.close();
    }
  });

  it('a realm on another origin gets no credentials unless the operator named it; named, the token flow works', async () => {
    const reg = await serve('https', '127.0.0.1');
    const auth = await serve('https', 'localhost');
    tokenService(auth);
    bearerRegistry(reg, `${auth.origin}/token`);
    const c = client(reg.origin);
    try {
      const e = await failure(c.ping());
      expect(e.code).toBe('registry.auth');
      expect(e.hint).toContain(`--token-realm ${auth.origin}`);
      expect(credentialsSeen(auth)).toBe(0);
    } finally {
      c.close();
    }
    const named = client(reg.origin, { tokenRealm: `${auth.origin}/token` });
    try {
      await named.ping();
      expect(auth.seen.at(-1)?.authorization).toBe(BASIC);
      expect(reg.seen.at(-1)?.authorization).toBe('Bearer tok');
    } finally {
      named.close();
    }
  });

  it('a token realm given as http:// is refused as a setting', async () => {
    expect(() => client('https://127.0.0.1:1', { tokenRealm: 'http://127.0.0.1:2/token' })).toThrow(expect.objectContaining({ code: 'registry.token-realm' }));
  });
});

describe('Location and Link headers to another origin', () => {
  it('an upload Location on another origin is sent the bytes without the Authorization header', async () => {
    const reg = await serve('https', '127.0.0.1');
    const stranger = await serve('https', 'localhost');
    stranger.handle = (_req, res) => {
      res.writeHead(201, { 'Docker-Content-Digest': 'x' });
      res.end();
    };
    basicRegistry(reg, (req, res) => {
      if (req.method === 'POST' && req.url?.startsWith('/v2/app/blobs/uploads/')) {
        res.writeHead(202, { Location: `${stranger.origin}/upload/session-1` });
        res.end();
        return true;
      }
      return false;
    });
    const data = Buffer.from('some layer bytes');
    const c = client(reg.origin);
    try {
      await c.uploadBlob('app', { digest: sha256Digest(data), size: data.length }, () => Readable.from([data]));
      expect(stranger.seen.map((s) => s.method)).toContain('PUT');
      expect(credentialsSeen(stranger)).toBe(0);
      expect(reg.seen.some((s) => s.authorization === BASIC)).toBe(true);
    } finally {
      c.close();
    }
  });

  it('a stranger that answers a followed Location with a challenge does not get the credentials', async () => {
    const reg = await serve('https', '127.0.0.1');
    const stranger = await serve('https', 'localhost');
    stranger.handle = (_req, res) => {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="give them to me"' });
      res.end();
    };
    basicRegistry(reg, (req, res) => {
      if (req.method === 'POST') {
        res.writeHead(202, { Location: `${stranger.origin}/upload/session-2` });
        res.end();
        return true;
      }
      return false;
    });
    const data = Buffer.from('more layer bytes');
    const c = client(reg.origin);
    try {
      const e = await failure(c.uploadBlob('app', { digest: sha256Digest(data), size: data.length }, () => Readable.from([data])));
      expect(e.code).toBe('registry.auth');
      expect(stranger.seen.length).toBeGreaterThan(0);
      expect(credentialsSeen(stranger)).toBe(0);
    } finally {
      c.close();
    }
  });

  it('a Location over plain http is refused before anything is sent there', async () => {
    const reg = await serve('https', '127.0.0.1');
    const plain = await serve('http', '127.0.0.1');
    basicRegistry(reg, (req, res) => {
      if (req.method === 'POST') {
        res.writeHead(202, { Location: `${plain.origin}/upload/session-3` });
        res.end();
        return true;
      }
      return false;
    });
    const data = Buffer.from('plain layer bytes');
    const c = client(reg.origin);
    try {
      const e = await failure(c.uploadBlob('app', { digest: sha256Digest(data), size: data.length }, () => Readable.from([data])));
      expect(e.code).toBe('registry.insecure-url');
      expect(plain.seen).toHaveLength(0);
    } finally {
      c.close();
    }
  });

  it('a tags list whose Link points at another origin is followed without the credentials', async () => {
    const reg = await serve('https', '127.0.0.1');
    const stranger = await serve('https', 'localhost');
    stranger.handle = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ name: 'app', tags: ['b'] }));
    };
    basicRegistry(reg, (req, res) => {
      if (req.url?.startsWith('/v2/app/tags/list')) {
        res.writeHead(200, { 'Content-Type': 'application/json', Link: `<${stranger.origin}/v2/app/tags/list?last=a&n=1000>; rel="next"` });
        res.end(JSON.stringify({ name: 'app', tags: ['a'] }));
        return true;
      }
      return false;
    });
    const c = client(reg.origin);
    try {
      expect(await c.tags('app')).toEqual(['a', 'b']);
      expect(stranger.seen).toHaveLength(1);
      expect(credentialsSeen(stranger)).toBe(0);
    } finally {
      c.close();
    }
  });
});
