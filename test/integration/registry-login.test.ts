import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keystorePath, openKeystore } from '../../installer/keystore/index.ts';
import type { TestBundle } from '../../scripts/bundle/build-test-bundle.ts';
import { startRegistry, type RunningRegistry } from '../fixtures/bundle/harness.ts';
import { smallBundle } from '../fixtures/bundle/small-bundle.ts';
import { palisade } from '../fixtures/pki/cli.ts';

/**
 * The operator's path to the appliance registry with palisade's keys only:
 * the real registry serves the certificate `keys generate` made and checks the
 * htpasswd it made; every registry command finds URL, CA and credentials
 * through -c; `registry login` hands them to a real skopeo.
 */
const PASS = 'registry login passphrase';
const env = { PALISADE_PASSPHRASE: PASS };
let dir: string;
let reg: RunningRegistry;
let tb: TestBundle;
let password: string;
let username: string;
const run = (args: string[], input?: string) => palisade(args, { cwd: dir, env, ...(input !== undefined ? { input } : {}) });
const config = (port: number, trustedKey: string) => `apiVersion: palisade/v1
cluster: {name: demo, fqdn: palisade.lab.internal}
hosts:
  - {name: host1, address: 127.0.0.1, role: controller}
registry: {port: ${port}}
bundle: {trustedKey: ${trustedKey}}
`;
const history = async () => (await openKeystore(keystorePath(dir, 'demo'), { passphrase: PASS })).history();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'palisade-login-'));
  tb = await smallBundle(join(dir, 'bundle'), { images: 2 });
  await writeFile(join(dir, 'palisade.yaml'), config(5000, tb.publicKeyPath));
  const gen = await run(['keys', 'generate']);
  expect(gen.code, gen.stderr).toBe(0);
  const ks = await openKeystore(keystorePath(dir, 'demo'), { passphrase: PASS });
  const cert = ks.get('tls/registry')!;
  const creds = ks.get('secret/registry')!;
  username = creds.meta!.username!;
  password = creds.value;
  const pki = join(dir, 'pki');
  await mkdir(pki);
  await writeFile(join(pki, 'tls.crt'), cert.meta!.cert! + (cert.meta!.chain ?? ''));
  await writeFile(join(pki, 'tls.key'), cert.value, { mode: 0o600 });
  const root = ks.get('ca/root')!.meta!.cert!;
  reg = await startRegistry({
    dir: join(dir, 'registry'),
    pki: { dir: pki, caPem: root, certPem: '', keyPem: '', caFile: '', otherCaPem: '' },
    users: { [username]: password },
  });
  await writeFile(join(dir, 'palisade.yaml'), config(reg.port, tb.publicKeyPath));
}, 120_000);

afterAll(async () => {
  await reg?.stop();
});

describe('registry commands with -c only', () => {
  it('seed, verify and catalog find the URL, CA and credentials themselves', async () => {
    const seed = await run(['registry', 'seed', '-c', 'palisade.yaml', '--bundle', tb.path]);
    expect(seed.code, seed.stderr).toBe(0);
    expect(seed.stdout).toMatch(/^seeded (https:\/\/)?127\.0\.0\.1:\d+: /);
    const verify = await run(['registry', 'verify', '-c', 'palisade.yaml', '--bundle', tb.path]);
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/^OK (https:\/\/)?127\.0\.0\.1:\d+: /);
    const cat = await run(['registry', 'catalog', '-o', 'json']);
    expect(cat.code, cat.stderr).toBe(0);
    expect((JSON.parse(cat.stdout) as unknown[]).length).toBeGreaterThan(0);
    for (const r of [seed, verify, cat]) expect(r.stdout + r.stderr).not.toContain(password);
  }, 120_000);

  it('pack list finds them too', async () => {
    const r = await run(['pack', 'list', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as Array<{ name: string }>).map((p) => p.name)).toEqual(expect.arrayContaining(['k3s']));
  }, 60_000);
});

describe('registry login', () => {
  it('writes auth.json (0600) and certs.d/<host:port>/ca.crt that a real skopeo uses', async () => {
    const authFile = join(dir, 'auth', 'auth.json');
    const certsDir = join(dir, 'certs.d');
    await mkdir(join(dir, 'auth'));
    await writeFile(authFile, JSON.stringify({ auths: { 'other.example:5000': { auth: 'eDp5' } } }));
    const r = await run(['registry', 'login', '--authfile', authFile, '--certs-dir', certsDir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(password);
    const endpoint = `127.0.0.1:${reg.port}`;
    expect(r.stdout).toContain(`skopeo inspect --authfile ${authFile} --cert-dir ${join(certsDir, endpoint)} docker://${endpoint}/`);
    expect((await stat(authFile)).mode & 0o777).toBe(0o600);
    const auth = JSON.parse(await readFile(authFile, 'utf8')) as { auths: Record<string, { auth: string }> };
    expect(auth.auths['other.example:5000']).toEqual({ auth: 'eDp5' });
    expect(Buffer.from(auth.auths[endpoint]!.auth, 'base64').toString()).toBe(`${username}:${password}`);
    const ca = await readFile(join(certsDir, endpoint, 'ca.crt'), 'utf8');
    expect(ca).toMatch(/^-----BEGIN CERTIFICATE-----/);

    const cat = JSON.parse((await run(['registry', 'catalog', '-o', 'json'])).stdout) as Array<{ repository: string; tags: string[] }>;
    const image = cat.find((c) => !c.repository.startsWith('packs/'))!;
    const ref = `docker://${endpoint}/${image.repository}:${image.tags[0]}`;
    const sk = await promisify(execFile)('skopeo', ['inspect', '--raw', '--authfile', authFile, '--cert-dir', join(certsDir, endpoint), ref], {
      env: { ...process.env, REGISTRY_AUTH_FILE: '' },
    });
    expect(JSON.parse(sk.stdout)).toHaveProperty('schemaVersion', 2);
    // without the credentials the registry refuses: skopeo used the file, not luck
    const empty = join(dir, 'auth', 'empty.json');
    await writeFile(empty, '{"auths":{}}');
    await expect(promisify(execFile)('skopeo', ['inspect', '--raw', '--authfile', empty, '--cert-dir', join(certsDir, endpoint), ref])).rejects.toThrow(
      /unauthorized|authentication required/i,
    );
    expect((await history()).filter((e) => e.by === 'registry login')).toEqual([
      expect.objectContaining({ event: 'written-to-file', name: 'secret/registry', to: authFile }),
    ]);
  }, 60_000);

  it('prints the password only with --show-password, and records it', async () => {
    const r = await run(['registry', 'login', '--authfile', join(dir, 'auth', 'a2.json'), '--certs-dir', join(dir, 'certs2'), '--show-password', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, password, username });
    expect((await history()).at(-1)).toMatchObject({ event: 'revealed', name: 'secret/registry', to: 'stdout', by: 'registry login --show-password' });
  }, 60_000);
});

describe('keys reveal', () => {
  it('without a terminal it needs --yes, and reveals nothing before', async () => {
    const before = (await history()).length;
    const r = await run(['keys', 'reveal', 'secret/registry']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/needs confirmation and there is no terminal to ask on/);
    expect(r.stdout).toBe('');
    expect(await history()).toHaveLength(before);
  }, 30_000);

  it('--yes prints the value and records when and which, never the value', async () => {
    const r = await run(['keys', 'reveal', 'secret/registry', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${password}\n`);
    const h = await history();
    expect(h.at(-1)).toMatchObject({
      event: 'revealed',
      name: 'secret/registry',
      to: 'stdout',
      by: 'keys reveal',
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(JSON.stringify(h)).not.toContain(password);
    const shown = await run(['keys', 'history']);
    expect(shown.stdout).toMatch(/revealed +secret\/registry +stdout +keys reveal/);
    expect(shown.stdout).not.toContain(password);
  }, 30_000);

  it('--out writes a 0600 file and refuses to overwrite one', async () => {
    const ks = await openKeystore(keystorePath(dir, 'demo'), { passphrase: PASS });
    const token = ks.get('secret/join-token')!.value;
    const out = join(dir, 'token.txt');
    const r = await run(['keys', 'reveal', 'secret/join-token', '--out', out, '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain(token);
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    expect(await readFile(out, 'utf8')).toBe(`${token}\n`);
    expect((await history()).at(-1)).toMatchObject({ event: 'written-to-file', name: 'secret/join-token', to: out });
    const again = await run(['keys', 'reveal', 'secret/join-token', '--out', out, '--yes']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists/);
  }, 30_000);

  it('an unknown name is refused', async () => {
    const r = await run(['keys', 'reveal', 'luks-recovery/nope', '--yes']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no keystore entry named luks-recovery\/nope/);
  }, 30_000);
});
