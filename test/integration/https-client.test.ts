import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiReady } from '../../installer/cluster/api.ts';
import { CA_EXT, OpensslLab, SERVER_EXT } from '../fixtures/pki/corpus.ts';

/**
 * The cluster API health check through the one HTTPS client, against a real TLS
 * server that, like the API server, wants a client certificate from its CA.
 */
const lab = new OpensslLab();
let server: Server;
let port = 0;
const pem = (n: string) => lab.read(n).toString();
const creds = () => ({ ca: pem('root.pem'), cert: pem('admin.pem'), key: pem('admin.key') });

beforeAll(async () => {
  lab.issue('root', { subject: '/CN=API Root', ext: CA_EXT(), days: 30 });
  lab.issue('other', { subject: '/CN=Other Root', ext: CA_EXT(), days: 30 });
  lab.issue('api', { issuer: 'root', ext: SERVER_EXT('DNS:api.lab.internal') });
  lab.issue('admin', { issuer: 'root', ext: SERVER_EXT('', { eku: 'clientAuth' }) });
  lab.issue('stranger', { issuer: 'other', ext: SERVER_EXT('', { eku: 'clientAuth' }) });
  server = createServer(
    { key: lab.read('api.key'), cert: lab.read('api.pem'), ca: lab.read('root.pem'), requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      const authorized = (req.socket as TLSSocket).authorized;
      res.writeHead(req.url === '/readyz' && authorized ? 200 : 401).end(authorized ? 'ok' : 'Unauthorized');
    },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('cluster API readiness over the HTTPS client', () => {
  it('answers "ok" for the FQDN with the cluster CA and a client certificate', async () => {
    await expect(apiReady('127.0.0.1', 'api.lab.internal', creds(), undefined, port)).resolves.toBe('ok');
  });

  it('refuses a certificate for another name, or from another CA', async () => {
    await expect(apiReady('127.0.0.1', 'other.lab.internal', creds(), undefined, port)).rejects.toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    await expect(apiReady('127.0.0.1', 'api.lab.internal', { ...creds(), ca: pem('other.pem') }, undefined, port)).rejects.toMatchObject({
      code: expect.stringMatching(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER/),
    });
  });

  it("names the status when the client certificate is not the cluster's", async () => {
    await expect(
      apiReady('127.0.0.1', 'api.lab.internal', { ...creds(), cert: pem('stranger.pem'), key: pem('stranger.key') }, undefined, port),
    ).rejects.toThrow(/HTTP 401: Unauthorized/);
  });
});
