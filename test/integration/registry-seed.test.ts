import { spawn } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBundle } from '../../installer/bundle/open.ts';
import { RegistryClient } from '../../installer/registry/client.ts';
import { listPacks } from '../../installer/registry/packs.ts';
import { seedRegistry, type SeedOptions } from '../../installer/registry/seed.ts';
import { verifyRegistry } from '../../installer/registry/verify.ts';
import { REPO_ROOT, type TestBundle } from '../../scripts/bundle/build-test-bundle.ts';
import { makeTestPki, startProxy, startRegistry, uploadedBlobs, type RunningRegistry, type TestPki, type TestProxy } from '../fixtures/bundle/harness.ts';
import { smallBundle } from '../fixtures/bundle/small-bundle.ts';

/** Seeding against the real CNCF registry (Debian's docker-registry) on 127.0.0.1 with TLS and htpasswd. */
let work: string;
let pki: TestPki;
let tb: TestBundle;
const cleanups: Array<() => Promise<void>> = [];
const PASSWORD = 'correct horse battery staple';
let k = 0;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'palisade-seed-'));
  pki = await makeTestPki(join(work, 'pki'));
  tb = await smallBundle(join(work, 'bundle'), { images: 3, layerSize: 64 << 10 });
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await rm(work, { recursive: true, force: true });
});

/** An empty registry and a counting proxy in front of it. */
async function fresh(): Promise<{ reg: RunningRegistry; proxy: TestProxy }> {
  const reg = await startRegistry({ dir: join(work, `reg-${k++}`), pki, users: { seeder: PASSWORD } });
  const proxy = await startProxy({ target: reg.url, pki });
  cleanups.push(
    () => reg.stop(),
    () => proxy.stop(),
  );
  return { reg, proxy };
}

const access = (url: string): Omit<SeedOptions, 'bundle'> => ({ url, ca: pki.caPem, username: 'seeder', password: PASSWORD, baseDelayMs: 50 });
const trustedKey = () => createPublicKey(tb.publicKeyPem);

describe('registry seed', () => {
  it('pushes every image and pack, mounts shared layers, and the registry then verifies (deep)', async () => {
    const { reg, proxy } = await fresh();
    const r = await seedRegistry({ ...access(proxy.url), bundle: tb.path, trustedKey: trustedKey() });
    expect(r.images).toBe(4);
    expect(r.packs).toBe(2);
    expect(r.blobs.present).toBe(0);
    expect(r.blobs.uploaded + r.blobs.mounted).toBe(r.blobs.total);
    // the shared base layer is uploaded once and mounted into the other repositories
    expect(r.blobs.mounted).toBeGreaterThanOrEqual(3);
    expect(proxy.requests.filter((q) => q.mount && q.status === 201).length).toBe(r.blobs.mounted);
    const uploads = uploadedBlobs(proxy).map((x) => x.split('@')[1]);
    expect(new Set(uploads).size).toBe(uploads.length);
    expect(r.manifests.pushed).toBe(r.manifests.total);

    const v = await verifyRegistry({ ...access(reg.url), bundle: tb.path, deep: true });
    expect(v.problems).toEqual([]);
    expect(v.ok).toBe(true);

    const client = new RegistryClient(access(reg.url));
    try {
      expect((await client.catalog()).sort()).toEqual([
        'packs/debian',
        'packs/k3s',
        'palisade/test-app-0',
        'palisade/test-app-1',
        'palisade/test-app-2',
        'palisade/test-multiarch',
      ]);
      const packs = await listPacks(client);
      expect(packs.map((p) => `${p.layer}/${p.name}@${p.version}`)).toEqual(['k8s/k3s@1.30.2', 'os/debian@12.7.0']);
      expect(packs[0]?.dependencies).toEqual([{ name: 'debian', version: '>=12.0.0 <13.0.0' }]);
    } finally {
      client.close();
    }
  });

  it('seeds straight from a .tar bundle (byte ranges of the archive, no extraction)', async () => {
    const { reg } = await fresh();
    const t = await smallBundle(join(work, 'tar-bundle'), { tar: true, images: 2 });
    const r = await seedRegistry({ ...access(reg.url), bundle: t.path, trustedKey: createPublicKey(t.publicKeyPem) });
    expect(r.blobs.uploaded).toBeGreaterThan(0);
    expect((await verifyRegistry({ ...access(reg.url), bundle: t.path, deep: true })).ok).toBe(true);
  });

  it('re-seeding uploads nothing and pushes no manifest', async () => {
    const { proxy } = await fresh();
    const first = await seedRegistry({ ...access(proxy.url), bundle: tb.path });
    const before = proxy.requests.length;
    const again = await seedRegistry({ ...access(proxy.url), bundle: tb.path });
    const second = proxy.requests.slice(before);
    expect(again.blobs.uploaded + again.blobs.mounted).toBe(0);
    expect(again.manifests.pushed).toBe(0);
    expect(again.bytes.uploaded).toBe(0);
    expect(second.filter((q) => q.method !== 'GET' && q.method !== 'HEAD')).toEqual([]);
    // one manifest HEAD per image and pack, plus the auth round trip
    expect(second.length).toBeLessThanOrEqual(first.images + first.packs + 2);
  });

  it('a seed killed halfway leaves nothing tagged; the re-run uploads only what is missing', async () => {
    const { reg, proxy } = await fresh();
    const pw = join(work, 'pw');
    await writeFile(pw, PASSWORD, { mode: 0o600 });
    await writeFile(join(work, 'ca.pem'), pki.caPem);
    const child = spawn(
      process.execPath,
      [
        join(REPO_ROOT, 'installer/bin/palisade.js'),
        'registry',
        'seed',
        '--bundle',
        tb.path,
        '--trusted-key',
        tb.publicKeyPath,
        '--registry',
        proxy.url,
        '--ca',
        join(work, 'ca.pem'),
        '--username',
        'seeder',
        '--password-file',
        pw,
        '--concurrency',
        '1',
      ],
      { stdio: 'ignore' },
    );
    let killed = false;
    proxy.onResponse = () => {
      if (!killed && uploadedBlobs(proxy).length >= 3) {
        killed = true;
        child.kill('SIGKILL');
      }
    };
    proxy.decide = () => (killed ? 'drop' : 'pass');
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(killed).toBe(true);
    expect(code).not.toBe(0);
    const firstRun = uploadedBlobs(proxy);
    expect(firstRun.length).toBeGreaterThanOrEqual(3);
    // manifests come last: nothing was tagged by the killed run
    expect(proxy.requests.filter((q) => q.method === 'PUT' && q.path.includes('/manifests/'))).toEqual([]);

    proxy.onResponse = undefined;
    proxy.decide = () => 'pass';
    const mark = proxy.requests.length;
    const r = await seedRegistry({ ...access(proxy.url), bundle: tb.path });
    const secondRun = uploadedBlobs(proxy, mark);
    for (const done of firstRun) expect(secondRun).not.toContain(done);
    expect(r.blobs.present).toBeGreaterThanOrEqual(firstRun.length);
    expect(r.blobs.present + r.blobs.uploaded + r.blobs.mounted).toBe(r.blobs.total);
    expect((await verifyRegistry({ ...access(reg.url), bundle: tb.path, deep: true })).ok).toBe(true);
  });

  it('rides out a registry that answers 500 for a while', async () => {
    const { reg, proxy } = await fresh();
    const until = Date.now() + 700;
    proxy.decide = () => (Date.now() < until ? { status: 500 } : 'pass');
    const r = await seedRegistry({ ...access(proxy.url), bundle: tb.path, attempts: 8, baseDelayMs: 100 });
    expect(r.retries).toBeGreaterThan(0);
    expect(proxy.requests.some((q) => q.status === 500)).toBe(true);
    expect((await verifyRegistry({ ...access(reg.url), bundle: tb.path })).ok).toBe(true);
  });

  it('gives up with a clear error when the registry keeps failing', async () => {
    const { proxy } = await fresh();
    proxy.decide = () => ({ status: 503 });
    await expect(seedRegistry({ ...access(proxy.url), bundle: tb.path, attempts: 3, baseDelayMs: 20 })).rejects.toMatchObject({
      code: 'registry.http',
      message: expect.stringContaining('HTTP 503'),
      hint: expect.stringContaining('journalctl -u palisade-registry'),
    });
  });

  it('retries an upload whose connection drops, and resumes chunked uploads', async () => {
    const { reg, proxy } = await fresh();
    const dropped = { patch: 0, put: 0 };
    proxy.decide = (req) => {
      if (!req.url?.includes('/blobs/uploads/')) return 'pass';
      if (req.method === 'PATCH' && dropped.patch === 0) {
        dropped.patch++;
        return 'drop';
      }
      // a monolithic upload (the body rides on the PUT)
      if (req.method === 'PUT' && Number(req.headers['content-length']) > 0 && dropped.put === 0) {
        dropped.put++;
        return 'drop';
      }
      return 'pass';
    };
    const r = await seedRegistry({ ...access(proxy.url), bundle: tb.path, chunkSize: 16 << 10 });
    expect(dropped).toEqual({ patch: 1, put: 1 });
    // the monolithic upload was retried as a whole; the chunked one asked the session where it stood and went on
    expect(r.retries).toBeGreaterThan(0);
    expect(proxy.requests.some((q) => q.method === 'GET' && q.path.includes('/blobs/uploads/'))).toBe(true);
    expect(proxy.requests.filter((q) => q.method === 'PATCH').length).toBeGreaterThan(4);
    expect((await verifyRegistry({ ...access(reg.url), bundle: tb.path, deep: true })).ok).toBe(true);
  });

  it('refuses a wrong password, a missing CA and a wrong CA, each with its own error', async () => {
    const { reg } = await fresh();
    await expect(seedRegistry({ ...access(reg.url), password: 'wrong', bundle: tb.path })).rejects.toMatchObject({
      code: 'registry.auth',
      message: expect.stringContaining('rejected the credentials of user "seeder"'),
    });
    await expect(seedRegistry({ ...access(reg.url), ca: undefined, bundle: tb.path })).rejects.toMatchObject({
      code: 'registry.tls',
      hint: expect.stringContaining('--ca'),
    });
    await expect(seedRegistry({ ...access(reg.url), ca: pki.otherCaPem, bundle: tb.path })).rejects.toMatchObject({ code: 'registry.tls' });
    const client = new RegistryClient(access(reg.url));
    try {
      expect(await client.catalog()).toEqual([]);
    } finally {
      client.close();
    }
  });

  it('never commits a bundle blob whose content does not match its digest', async () => {
    const { reg } = await fresh();
    const bad = join(work, 'tampered');
    await cp(tb.path, bad, { recursive: true });
    const b = await openBundle(bad);
    const victim = b.manifest.components.images[0];
    const layout = JSON.parse((await b.read(`images/blobs/sha256/${victim?.digest.slice(7)}`)).toString()) as { layers: Array<{ digest: string }> };
    await b.close();
    const layer = layout.layers[1]?.digest as string;
    const file = join(bad, 'images/blobs/sha256', layer.slice(7));
    const data = await readFile(file);
    data[100] = (data[100] ?? 0) ^ 1;
    await writeFile(file, data);
    await expect(seedRegistry({ ...access(reg.url), bundle: bad, trustedKey: trustedKey() })).rejects.toMatchObject({ code: 'bundle.digest-mismatch' });
    const client = new RegistryClient(access(reg.url));
    try {
      expect(await client.headBlob(victim?.repository as string, layer)).toBeUndefined();
      expect(await client.headManifest(victim?.repository as string, victim?.tag as string)).toBeUndefined();
    } finally {
      client.close();
    }
  });

  it('refuses to seed a bundle signed by an untrusted key', async () => {
    const { proxy } = await fresh();
    const { generateSigningKey } = await import('../../installer/bundle/signing.ts');
    await expect(seedRegistry({ ...access(proxy.url), bundle: tb.path, trustedKey: createPublicKey(generateSigningKey().publicKeyPem) })).rejects.toMatchObject(
      { code: 'bundle.untrusted-key' },
    );
    expect(proxy.requests).toEqual([]);
  });

  it('registry verify finds a tag that points elsewhere', async () => {
    const { reg } = await fresh();
    await seedRegistry({ ...access(reg.url), bundle: tb.path });
    const client = new RegistryClient(access(reg.url));
    const b = await openBundle(tb.path);
    try {
      const [a, c] = b.manifest.components.images;
      const other = await client.getManifest(c?.repository as string, c?.tag as string);
      // retag image a to image c's manifest: needs c's blobs in a's repository first
      const m = JSON.parse(other?.bytes.toString() ?? '{}') as { config?: { digest: string }; layers?: Array<{ digest: string }>; manifests?: unknown };
      for (const d of [m.config?.digest, ...(m.layers ?? []).map((l) => l.digest)])
        if (d) await client.mountBlob(a?.repository as string, d, c?.repository as string);
      if (m.manifests) return; // c is an index: skip (covered by the digest check below)
      await client.putManifest(a?.repository as string, a?.tag as string, other?.bytes as Buffer, other?.mediaType as string);
      const v = await verifyRegistry({ ...access(reg.url), bundle: b });
      expect(v.ok).toBe(false);
      expect(v.problems[0]).toMatchObject({ repository: a?.repository, ref: a?.tag, message: expect.stringContaining('tag points at') });
    } finally {
      client.close();
      await b.close();
    }
  });
});
