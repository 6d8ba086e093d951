import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBundle } from '../../installer/bundle/open.ts';
import { loadPublicKey } from '../../installer/bundle/signing.ts';
import { syncFiles } from '../../installer/hosts/files.ts';
import { closeAll, connectHost } from '../../installer/hosts/index.ts';
import type { RemoteHost } from '../../installer/hosts/types.ts';
import { seedRegistry } from '../../installer/registry/seed.ts';
import type { TestBundle } from '../../scripts/bundle/build-test-bundle.ts';
import { makeTestPki, type TestPki } from '../fixtures/bundle/harness.ts';
import { smallBundle } from '../fixtures/bundle/small-bundle.ts';
import { failure } from '../fixtures/errors.ts';
import { startSshd, type Sshd } from '../fixtures/sshd.ts';

/**
 * Bundle files checked when they are used, against a host over real SSH and a
 * registry that stores whatever it is given (so only palisade's own checks stand
 * between a swapped file and the appliance).
 */
let work: string;
let tb: TestBundle;
let sshd: Sshd;
let pki: TestPki;
const open: RemoteHost[] = [];
const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'palisade-use-time-int-'));
  tb = await smallBundle(join(work, 'dir'), { layerSize: 256 << 10 });
  sshd = await startSshd();
  pki = await makeTestPki(join(work, 'pki'));
}, 120_000);
afterAll(async () => {
  await closeAll(open);
  await sshd?.stop();
  await rm(work, { recursive: true, force: true });
});

async function host(): Promise<RemoteHost> {
  const h = await connectHost({
    name: 'host1',
    address: '127.0.0.1',
    port: sshd.port,
    user: 'root',
    privateKey: sshd.keys.ed25519.path,
    hostKey: sshd.hostKeyFingerprint,
  });
  open.push(h);
  return h;
}

describe('uploads from a bundle', () => {
  it('a bundle file swapped after verification is refused at upload, and nothing is put in place', async () => {
    const d = join(work, 'swap-upload');
    await cp(tb.path, d, { recursive: true });
    const b = await openBundle(d, { trustedKey: await loadPublicKey(tb.publicKeyPem) });
    const h = await host();
    const target = join(work, 'remote', 'tool');
    try {
      // in place when the file is the signed one
      const good = { path: target, source: await b.localPath('bin/tool'), mode: 0o755, owner: 'root:root', sha256: b.digest('bin/tool') };
      expect((await syncFiles(h, [good])).written).toEqual([target]);
      expect(sha(await readFile(target))).toBe(b.digest('bin/tool'));
      await rm(target);
      // swapped between verification and use
      await writeFile(join(d, 'bin/tool'), '#!/bin/sh\nrm -rf --no-preserve-root /\n');
      const e = await failure(syncFiles(h, [good]));
      expect(e.code).toBe('ssh.upload-source-changed');
      expect(e.message).toContain('/remote/tool was not put in place');
      expect(existsSync(target)).toBe(false);
      expect((await readdir(join(work, 'remote'))).filter((f) => f.includes('palisade'))).toEqual([]);
    } finally {
      await b.close();
    }
  });
});

/** A registry that keeps whatever it is sent under the digest the client names: no checks of its own. */
async function permissiveRegistry(): Promise<{ url: string; blobs: Map<string, Buffer>; close(): Promise<void> }> {
  const blobs = new Map<string, Buffer>();
  const uploads = new Map<string, Buffer[]>();
  let next = 0;
  const srv = https.createServer({ key: pki.keyPem, cert: pki.certPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', () => undefined);
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'https://x');
      const body = Buffer.concat(chunks);
      const m = /^\/v2\/(.+)\/(blobs|manifests)\/(.+)$/.exec(u.pathname);
      const up = /^\/upload\/(\d+)$/.exec(u.pathname);
      if (u.pathname === '/v2/') return void res.writeHead(200).end('{}');
      if (/\/blobs\/uploads\/$/.test(u.pathname) && req.method === 'POST') {
        const id = String(next++);
        uploads.set(id, []);
        return void res.writeHead(202, { Location: `/upload/${id}`, Range: '0-0', 'Content-Length': 0 }).end();
      }
      if (up) {
        const parts = uploads.get(up[1] as string) ?? [];
        if (req.method === 'PATCH') {
          parts.push(body);
          const n = parts.reduce((a, p) => a + p.length, 0);
          return void res.writeHead(202, { Location: u.pathname, Range: `0-${n - 1}` }).end();
        }
        if (req.method === 'PUT') {
          parts.push(body);
          blobs.set(u.searchParams.get('digest') ?? '', Buffer.concat(parts));
          return void res.writeHead(201, { 'Docker-Content-Digest': u.searchParams.get('digest') ?? '' }).end();
        }
        if (req.method === 'GET')
          return void res.writeHead(204, { Location: u.pathname, Range: `0-${Math.max(0, parts.reduce((a, p) => a + p.length, 0) - 1)}` }).end();
        return void res.writeHead(204).end();
      }
      if (m && m[2] === 'blobs') {
        const have = blobs.get(m[3] as string);
        return void res.writeHead(have ? 200 : 404, have ? { 'Content-Length': have.length, 'Docker-Content-Digest': m[3] } : {}).end();
      }
      if (m && m[2] === 'manifests') {
        if (req.method === 'PUT') return void res.writeHead(201, { 'Docker-Content-Digest': `sha256:${sha(body)}` }).end();
        return void res.writeHead(404).end();
      }
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    url: `https://127.0.0.1:${(srv.address() as AddressInfo).port}`,
    blobs,
    close: () =>
      new Promise<void>((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  };
}

describe('seeding from a bundle', () => {
  it('a layer changed on disk is never stored, even by a registry that checks nothing (monolithic and chunked)', async () => {
    for (const chunkSize of [undefined, 64 << 10]) {
      const d = join(work, `swap-blob-${chunkSize ?? 'mono'}`);
      await cp(tb.path, d, { recursive: true });
      const dir = join(d, 'images/blobs/sha256');
      const sized = await Promise.all((await readdir(dir)).map(async (f) => ({ f, size: (await stat(join(dir, f))).size })));
      const layer = sized.sort((a, b) => b.size - a.size)[0]!.f;
      const data = await readFile(join(dir, layer));
      data[data.length >> 1] = (data[data.length >> 1] ?? 0) ^ 0x01;
      await writeFile(join(dir, layer), data);
      const reg = await permissiveRegistry();
      try {
        const e = await failure(seedRegistry({ url: reg.url, ca: pki.caPem, bundle: d, attempts: 1, concurrency: 1, ...(chunkSize ? { chunkSize } : {}) }));
        expect(e.code).toBe('bundle.digest-mismatch');
        expect(reg.blobs.has(`sha256:${layer}`)).toBe(false);
        // whatever it did store is what its name says
        for (const [digest, bytes] of reg.blobs) expect(`sha256:${sha(bytes)}`).toBe(digest);
      } finally {
        await reg.close();
      }
    }
  });
});
