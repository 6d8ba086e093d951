import { execFile as execFileCb, execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, sign, verify, X509Certificate } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import bcrypt from 'bcryptjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createIntermediateCa, createRootCa, issueCertificate } from '../../installer/pki/ca.ts';
import { ensureKeySet, generateKeySet, KEY_NAMES, keySetSpecs, renewEntry, type KeySet, type KeySetInput } from '../../installer/pki/keyset.ts';
import type { KeyEntry } from '../../installer/keystore/types.ts';

const execFile = promisify(execFileCb);
const dir = mkdtempSync(join(tmpdir(), 'pki-'));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const openssl = (...args: string[]): string => execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

const input: KeySetInput = {
  cluster: 'demo',
  fqdn: 'palisade.lab.internal',
  vip: '10.231.0.100',
  hosts: [
    { name: 'host1', address: '10.231.0.11', role: 'controller' },
    { name: 'host2', address: '10.231.0.12', role: 'controller' },
    { name: 'host3', address: '10.231.0.13', role: 'controller' },
    { name: 'host4', address: 'host4.dc.example', role: 'worker' },
  ],
};

let ks: KeySet;
let root: string;
let inter: string;
beforeAll(async () => {
  ks = await generateKeySet(input);
  root = file('root.pem', ks.rootCa.certPem);
  inter = file('intermediate.pem', ks.intermediateCa.certPem);
});

describe('the CA chain and leaf certificates, checked by openssl', () => {
  it('every leaf verifies with `openssl verify -CAfile root -untrusted intermediate leaf` (strict X.509)', () => {
    const leaves: Array<[string, string, string]> = [
      ['registry', ks.registry.certPem, 'sslserver'],
      ['ingress', ks.ingressFallback.certPem, 'sslserver'],
      ['api', ks.api.certPem, 'sslserver'],
      ...Object.entries(ks.hosts).flatMap(
        ([h, c]): Array<[string, string, string]> => [
          [`${h}-server`, c.server.certPem, 'sslserver'],
          [`${h}-client`, c.client.certPem, 'sslclient'],
        ],
      ),
    ];
    expect(leaves).toHaveLength(11);
    for (const [name, pem, purpose] of leaves) {
      const out = openssl('verify', '-x509_strict', '-purpose', purpose, '-CAfile', root, '-untrusted', inter, file(`${name}.pem`, pem));
      expect(out.trim()).toBe(`${join(dir, `${name}.pem`)}: OK`);
    }
  });

  it('a leaf does not verify without the intermediate, nor against another root', async () => {
    expect(() => openssl('verify', '-CAfile', root, file('api-alone.pem', ks.api.certPem))).toThrow(/unable to get local issuer certificate/);
    const other = await generateKeySet(input);
    expect(() => openssl('verify', '-CAfile', file('other-root.pem', other.rootCa.certPem), '-untrusted', inter, join(dir, 'api-alone.pem'))).toThrow();
    // a client certificate is not a server certificate
    expect(() => openssl('verify', '-purpose', 'sslserver', '-CAfile', root, '-untrusted', inter, file('c.pem', ks.hosts.host1!.client.certPem))).toThrow(
      /unsupported certificate purpose|unsuitable certificate purpose/,
    );
  });

  it('openssl x509 -text shows lifetimes, constraints, usages, SANs and key identifiers', () => {
    const r = openssl('x509', '-in', root, '-text', '-noout');
    expect(r).toMatch(/Issuer: O = palisade demo, CN = palisade demo root CA/);
    expect(r).toMatch(/Basic Constraints: critical\s+CA:TRUE\s/);
    expect(r).toMatch(/Key Usage: critical\s+Digital Signature, Certificate Sign, CRL Sign/);
    const i = openssl('x509', '-in', inter, '-text', '-noout');
    expect(i).toMatch(/CA:TRUE, pathlen:0/);
    const rootX = new X509Certificate(ks.rootCa.certPem);
    const intX = new X509Certificate(ks.intermediateCa.certPem);
    const apiX = new X509Certificate(ks.api.certPem);
    const years = (x: X509Certificate) => (Date.parse(x.validTo) - Date.parse(x.validFrom)) / (365.25 * 86400e3);
    expect(years(rootX)).toBeCloseTo(10, 1);
    expect(years(intX)).toBeCloseTo(5, 1);
    expect(years(apiX)).toBeCloseTo(1, 1);
    const a = openssl('x509', '-in', file('api.pem', ks.api.certPem), '-text', '-noout');
    expect(a).toMatch(/Signature Algorithm: ecdsa-with-SHA256/);
    expect(a).toMatch(/NIST CURVE: P-256/);
    expect(a).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    expect(a).toMatch(/Key Usage: critical\s+Digital Signature\s/);
    expect(a).toMatch(/Extended Key Usage: \s*TLS Web Server Authentication\s/);
    for (const san of [
      'DNS:palisade.lab.internal',
      'IP Address:10.231.0.100',
      'IP Address:10.231.0.11',
      'IP Address:10.231.0.13',
      'DNS:kubernetes.default.svc.cluster.local',
      'IP Address:10.43.0.1',
      'DNS:host2',
    ])
      expect(a).toContain(san);
    expect(a).not.toContain('host4'); // workers are not API endpoints
    // AKI of each certificate is the SKI of its issuer
    const ski = (t: string) => t.match(/Subject Key Identifier: \s*\n\s*([0-9A-F:]+)/)![1];
    const aki = (t: string) => t.match(/Authority Key Identifier: \s*\n\s*(?:keyid:)?([0-9A-F:]+)/)![1];
    expect(aki(a)).toBe(ski(i));
    expect(aki(i)).toBe(ski(r));
    const host4 = openssl('x509', '-in', file('h4.pem', ks.hosts.host4!.server.certPem), '-text', '-noout');
    expect(host4).toMatch(/DNS:host4, DNS:host4.palisade.lab.internal, DNS:host4.dc.example, DNS:localhost, IP Address:127.0.0.1/);
    expect(openssl('x509', '-in', join(dir, 'c.pem'), '-text', '-noout')).toMatch(/Extended Key Usage: \s*TLS Web Client Authentication\s/);
  });

  it('RSA 3072 and Ed25519 keys on request', async () => {
    const rsaRoot = await createRootCa({ subject: { commonName: 'rsa root' }, algorithm: 'rsa-3072' });
    const rsaInt = await createIntermediateCa(rsaRoot, { subject: { commonName: 'rsa int' }, algorithm: 'rsa-3072' });
    const leaf = await issueCertificate(rsaInt, { commonName: 'x.example', dnsNames: ['x.example'], usage: 'server', algorithm: 'rsa-3072' });
    const t = openssl('x509', '-in', file('rsa.pem', leaf.certPem), '-text', '-noout');
    expect(t).toMatch(/Public-Key: \(3072 bit\)/);
    expect(t).toMatch(/Signature Algorithm: sha256WithRSAEncryption/);
    expect(t).toMatch(/Key Usage: critical\s+Digital Signature, Key Encipherment/);
    expect(
      openssl(
        'verify',
        '-x509_strict',
        '-CAfile',
        file('rsa-root.pem', rsaRoot.certPem),
        '-untrusted',
        file('rsa-int.pem', rsaInt.certPem),
        join(dir, 'rsa.pem'),
      ),
    ).toMatch(/OK/);
    const edRoot = await createRootCa({ subject: { commonName: 'ed root' }, algorithm: 'ed25519' });
    const edLeaf = await issueCertificate(edRoot, { commonName: 'e.example', dnsNames: ['e.example'], usage: 'client', algorithm: 'ed25519' });
    expect(openssl('x509', '-in', file('ed.pem', edLeaf.certPem), '-text', '-noout')).toMatch(
      /Signature Algorithm: ED25519[\s\S]*Public Key Algorithm: ED25519/,
    );
    expect(openssl('verify', '-CAfile', file('ed-root.pem', edRoot.certPem), join(dir, 'ed.pem'))).toMatch(/OK/);
  }, 120_000);
});

async function serve(cert: { certPem: string; keyPem: string; chainPem: string }, extra: { requestCert?: boolean; ca?: string } = {}) {
  const server = createServer(
    { key: cert.keyPem, cert: cert.chainPem, ...(extra.requestCert ? { requestCert: true, rejectUnauthorized: true, ca: extra.ca } : {}) },
    (s: TLSSocket) => {
      s.end(`hello ${s.getPeerCertificate()?.subject?.CN ?? 'anonymous'}\n`);
    },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { port, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('TLS with the generated certificates, the root as the only trust anchor', () => {
  it('openssl s_client -verify_return_error accepts the registry certificate (chain served by node:tls)', async () => {
    const s = await serve(ks.registry);
    try {
      const { stdout } = await execFile('sh', [
        '-c',
        `openssl s_client -connect 127.0.0.1:${s.port} -servername registry.palisade.lab.internal -verify_hostname registry.palisade.lab.internal -CAfile ${root} -verify_return_error </dev/null 2>&1`,
      ]);
      expect(stdout).toMatch(/Verify return code: 0 \(ok\)/);
      expect(stdout).toMatch(/depth=2 O = palisade demo, CN = palisade demo root CA/);
      const bad = execFile('sh', [
        '-c',
        `openssl s_client -connect 127.0.0.1:${s.port} -verify_hostname wrong.example -CAfile ${root} -verify_return_error </dev/null 2>&1`,
      ]);
      await expect(bad).rejects.toMatchObject({ stdout: expect.stringMatching(/Hostname mismatch|verify error/) });
    } finally {
      await s.close();
    }
  });

  it('node:tls accepts the API certificate by name and by VIP, and rejects it under another root', async () => {
    const s = await serve(ks.api);
    const get = (opts: { servername?: string; ca: string; host?: string }) =>
      new Promise<string>((resolve, reject) => {
        const c = connect({ host: '127.0.0.1', port: s.port, ca: opts.ca, ...(opts.servername ? { servername: opts.servername } : {}) });
        let data = '';
        c.on('data', (d) => (data += d));
        c.on('end', () => resolve(data));
        c.on('error', reject);
      });
    try {
      await expect(get({ servername: 'palisade.lab.internal', ca: ks.rootCa.certPem })).resolves.toMatch(/^hello/);
      const other = await generateKeySet(input);
      await expect(get({ servername: 'palisade.lab.internal', ca: other.rootCa.certPem })).rejects.toThrow(
        /unable to get local issuer|self.signed|unable to verify/,
      );
      await expect(get({ servername: 'nope.example', ca: ks.rootCa.certPem })).rejects.toThrow(/altnames|Hostname/i);
    } finally {
      await s.close();
    }
    // by IP address: tls.checkServerIdentity against the VIP
    const tls = await import('node:tls');
    const peer = new X509Certificate(ks.api.certPem).toLegacyObject();
    expect(tls.checkServerIdentity('10.231.0.100', peer)).toBeUndefined();
    expect(tls.checkServerIdentity('10.231.0.99', peer)).toBeInstanceOf(Error);
  });

  it('mutual TLS: a host client certificate is accepted, a server certificate as client is refused', async () => {
    const s = await serve(ks.hosts.host1!.server, { requestCert: true, ca: ks.rootCa.certPem });
    const hello = (client: { certPem: string; keyPem: string; chainPem: string }) =>
      new Promise<string>((resolve, reject) => {
        const c = connect({ host: '127.0.0.1', port: s.port, servername: 'host1', ca: ks.rootCa.certPem, cert: client.chainPem, key: client.keyPem });
        let data = '';
        c.on('data', (d) => (data += d));
        c.on('end', () => resolve(data));
        c.on('close', () => resolve(data));
        c.on('error', reject);
      });
    try {
      await expect(hello(ks.hosts.host2!.client)).resolves.toBe('hello host2\n');
      const r = await hello(ks.registry).catch((e: Error) => e.message);
      expect(r).not.toMatch(/^hello/);
    } finally {
      await s.close();
    }
  });
});

describe('service secrets', () => {
  it('are strong, distinct and in the right shapes', () => {
    const s = ks.secrets;
    expect(s.joinToken).toMatch(/^[0-9a-f]{64}$/);
    expect(Buffer.from(s.secretsAtRestKey, 'base64')).toHaveLength(32);
    expect(s.passwordSalt).toMatch(/^[0-9a-f]{32}$/);
    expect(s.registry.password.length).toBeGreaterThanOrEqual(32);
    expect(s.registry.htpasswd).toMatch(/^palisade:\$2[aby]\$05\$/);
    expect(bcrypt.compareSync(s.registry.password, s.registry.htpasswd.trim().split(':')[1]!)).toBe(true);
    // the Ed25519 JWT key signs and its public half verifies
    const k = createPrivateKey(s.jwtSigningKey.privateKeyPem);
    expect(k.asymmetricKeyType).toBe('ed25519');
    const sig = sign(null, Buffer.from('payload'), k);
    expect(verify(null, Buffer.from('payload'), createPublicKey(s.jwtSigningKey.publicKeyPem), sig)).toBe(true);
    const values = ks.entries.map((e) => e.value);
    expect(new Set(values).size).toBe(values.length);
  });
});

describe('ensureKeySet and renewEntry', () => {
  it('makes only what is missing, issuing from the CAs already there', async () => {
    const m = new Map<string, KeyEntry>();
    const sink = { get: (n: string) => m.get(n), put: (e: KeyEntry) => void m.set(e.name, e) };
    const first = await ensureKeySet(input, sink);
    expect(first).toEqual(keySetSpecs(input).map((s) => s.name));
    expect(await ensureKeySet(input, sink)).toEqual([]);
    const bigger = { ...input, hosts: [...input.hosts, { name: 'host5', address: '10.231.0.15', role: 'worker' as const }] };
    expect(await ensureKeySet(bigger, sink)).toEqual([KEY_NAMES.hostServer('host5'), KEY_NAMES.hostClient('host5')]);
    const rootPem = file('r2.pem', m.get(KEY_NAMES.rootCa)!.meta!.cert!);
    const intPem = file('i2.pem', m.get(KEY_NAMES.intermediateCa)!.meta!.cert!);
    expect(openssl('verify', '-CAfile', rootPem, '-untrusted', intPem, file('h5.pem', m.get(KEY_NAMES.hostServer('host5'))!.meta!.cert!))).toMatch(/OK/);
    const renewed = await renewEntry(input, sink, KEY_NAMES.registry);
    expect(renewed.meta!.fingerprint).not.toBe(m.get(KEY_NAMES.registry)!.meta!.fingerprint);
    expect(openssl('verify', '-CAfile', rootPem, '-untrusted', intPem, file('reg2.pem', renewed.meta!.cert!))).toMatch(/OK/);
  });
});
