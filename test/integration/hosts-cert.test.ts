/**
 * `@cert-authority` in known_hosts: OpenSSH host certificates made by ssh-keygen -s,
 * checked by palisade (type, principal, validity, CA signature for ed25519/RSA/ECDSA CAs),
 * and a real sshd presenting a certificate (HostCertificate) trusted through its CA alone.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PalisadeError } from '../../installer/core/errors.ts';
import { checkHostCertificate, parseCertificate } from '../../installer/hosts/cert.ts';
import { blobFromPublicKeyLine, fingerprintOf } from '../../installer/hosts/fingerprint.ts';
import { connectHost } from '../../installer/hosts/index.ts';
import { parseKnownHosts } from '../../installer/hosts/known-hosts.ts';
import { startSshd, type Sshd } from '../fixtures/sshd.ts';

const dir = mkdtempSync(join(tmpdir(), 'palisade-cert-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function keygen(name: string, type: string): { path: string; blob: Buffer; line: string } {
  const path = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', type, ...(type === 'rsa' ? ['-b', '2048'] : []), '-N', '', '-f', path], { stdio: 'ignore' });
  const line = readFileSync(`${path}.pub`, 'utf8').trim();
  return { path, blob: blobFromPublicKeyLine(line)!, line };
}

/** ssh-keygen -s: a certificate for `pubPath`; returns its blob */
function sign(ca: string, pubPath: string, opts: { host?: boolean; principals?: string; validity?: string; id?: string; alg?: string }): Buffer {
  execFileSync(
    'ssh-keygen',
    [
      '-q',
      '-s',
      ca,
      '-I',
      opts.id ?? 'test-host',
      ...(opts.alg ? ['-t', opts.alg] : []),
      ...(opts.host === false ? [] : ['-h']),
      ...(opts.principals ? ['-n', opts.principals] : []),
      '-V',
      opts.validity ?? '-5m:+1h',
      pubPath,
    ],
    { stdio: 'ignore' },
  );
  const certLine = readFileSync(pubPath.replace(/\.pub$/, '-cert.pub'), 'utf8').trim();
  return Buffer.from(certLine.split(' ')[1]!, 'base64');
}

describe('host certificates (ssh-keygen -s) checked against CA keys', () => {
  const host = () => keygen(`host-${Math.random().toString(36).slice(2, 8)}`, 'ed25519');

  it.each(['ed25519', 'rsa', 'ecdsa'])('%s CA: parsed and verified; it certifies the host key', (caType) => {
    const ca = keygen(`ca-${caType}`, caType);
    const h = host();
    const cert = parseCertificate(sign(ca.path, `${h.path}.pub`, { principals: '10.0.0.5,host1.lab' }));
    expect(cert.type).toBe(2);
    expect(cert.key.equals(h.blob)).toBe(true);
    expect(cert.principals).toEqual(['10.0.0.5', 'host1.lab']);
    expect(cert.caKey.equals(ca.blob)).toBe(true);
    const v = checkHostCertificate(cert, { hostName: '10.0.0.5', cas: [ca.blob] });
    expect(v).toEqual({ ok: true, caFingerprint: fingerprintOf(ca.blob) });
    expect(fingerprintOf(ca.blob)).toBe(execFileSync('ssh-keygen', ['-lf', `${ca.path}.pub`], { encoding: 'utf8' }).split(' ')[1]);
  });

  it('refuses: another principal, expired, not yet valid, a user certificate, an unlisted CA, a tampered certificate', () => {
    const ca = keygen('ca-main', 'ed25519');
    const other = keygen('ca-other', 'ed25519');
    const check = (blob: Buffer, cas = [ca.blob]) => checkHostCertificate(parseCertificate(blob), { hostName: '10.0.0.5', cas });
    expect(check(sign(ca.path, `${host().path}.pub`, { principals: 'elsewhere' }))).toMatchObject({
      ok: false,
      reason: expect.stringContaining('not valid for 10.0.0.5'),
    });
    expect(check(sign(ca.path, `${host().path}.pub`, { validity: '20200101:20200102' }))).toMatchObject({ ok: false, reason: 'it has expired' });
    expect(check(sign(ca.path, `${host().path}.pub`, { validity: '+1d:+2d' }))).toMatchObject({ ok: false, reason: 'it is not valid yet' });
    expect(check(sign(ca.path, `${host().path}.pub`, { host: false }))).toMatchObject({ ok: false, reason: expect.stringContaining('user certificate') });
    const good = sign(ca.path, `${host().path}.pub`, {});
    expect(check(good)).toMatchObject({ ok: true });
    expect(check(good, [other.blob])).toMatchObject({ ok: false, reason: expect.stringContaining('not a @cert-authority') });
    // flip one byte of the nonce (covered by the signature)
    const tampered = Buffer.from(good);
    tampered[40] = tampered[40]! ^ 0xff;
    expect(check(tampered)).toMatchObject({ ok: false, reason: 'its CA signature does not verify' });
    // no principals: valid for any host name, as OpenSSH treats it
    expect(check(sign(ca.path, `${host().path}.pub`, {}))).toMatchObject({ ok: true });
  });

  it('refuses an RSA CA signature made with ssh-rsa (SHA-1), as OpenSSH does; rsa-sha2-256/512 pass', () => {
    const ca = keygen('ca-rsa-sha1', 'rsa');
    const check = (blob: Buffer) => checkHostCertificate(parseCertificate(blob), { hostName: '10.0.0.5', cas: [ca.blob] });
    const sha1 = sign(ca.path, `${host().path}.pub`, { alg: 'ssh-rsa' });
    expect(check(sha1)).toMatchObject({ ok: false, reason: expect.stringContaining('ssh-rsa (RSA with SHA-1)') });
    expect(check(sign(ca.path, `${host().path}.pub`, { alg: 'rsa-sha2-256' }))).toMatchObject({ ok: true });
    expect(check(sign(ca.path, `${host().path}.pub`, { alg: 'rsa-sha2-512' }))).toMatchObject({ ok: true });
  });

  it('refuses a certificate whose CA key is @revoked, even though that CA is listed', () => {
    const ca = keygen('ca-revoked', 'ed25519');
    const cert = parseCertificate(sign(ca.path, `${host().path}.pub`, {}));
    expect(checkHostCertificate(cert, { hostName: '10.0.0.5', cas: [ca.blob], revoked: [] })).toMatchObject({ ok: true });
    expect(checkHostCertificate(cert, { hostName: '10.0.0.5', cas: [ca.blob], revoked: [ca.blob] })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('@revoked'),
    });
  });
});

describe('a real sshd with a host certificate', () => {
  let sshd: Sshd;
  let ca: ReturnType<typeof keygen>;
  beforeAll(async () => {
    ca = keygen('site-ca', 'ed25519');
    const hostKey = keygen('certified-host', 'ed25519');
    sign(ca.path, `${hostKey.path}.pub`, { principals: '127.0.0.1' });
    sshd = await startSshd({ reuseHostKeyFrom: hostKey.path, extraConfig: [`HostCertificate ${hostKey.path}-cert.pub`] });
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  const target = () => ({ name: 'host1', address: '127.0.0.1', port: sshd.port, user: 'root', privateKey: sshd.keys.ed25519.path });

  it('is trusted through its @cert-authority in known_hosts, without a pin', async () => {
    const kh = parseKnownHosts(`@cert-authority [127.0.0.1]:${sshd.port} ${ca.line}\n`);
    const h = await connectHost(target(), { knownHosts: [kh] });
    expect((await h.exec('echo certified')).stdout).toBe('certified\n');
    await h.close();
  });

  it('is refused as revoked when known_hosts marks its CA key @revoked (the presented key itself is not listed)', async () => {
    const kh = parseKnownHosts(`@cert-authority [127.0.0.1]:${sshd.port} ${ca.line}\n@revoked * ${ca.line}\n`);
    let err: unknown;
    await connectHost(target(), { knownHosts: [kh] }).catch((e) => (err = e));
    expect(err).toBeInstanceOf(PalisadeError);
    expect((err as PalisadeError).code).toBe('ssh.hostkey-revoked');
    expect((err as PalisadeError).message).toMatch(/signed by the CA SHA256:\S+, marked @revoked on line 2/);
  });

  it('is not trusted when known_hosts lists another CA: unknown, saying why', async () => {
    const other = keygen('not-the-ca', 'ed25519');
    const kh = parseKnownHosts(`@cert-authority [127.0.0.1]:${sshd.port} ${other.line}\n`);
    let err: unknown;
    await connectHost(target(), { knownHosts: [kh] }).catch((e) => (err = e));
    expect(err).toBeInstanceOf(PalisadeError);
    expect((err as PalisadeError).code).toBe('ssh.hostkey-unknown');
    expect((err as PalisadeError).message).toMatch(/certificate was refused: its CA SHA256:\S+ is not a @cert-authority/);
  });
});
