import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkCertificateFiles } from '../../installer/pki/import.ts';
import { loadCertificates, loadPrivateKey, pemBlocks } from '../../installer/pki/load.ts';
import { buildCertificate, certPem, keyPem } from '../../installer/pki/x509.ts';
import { failure } from '../fixtures/errors.ts';

/** PEM reading: linear in the input, capped in size, and the same blocks as before for real files. */
let work: string;
const kp = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const cert = certPem(
  buildCertificate({
    subject: { commonName: 'pem' },
    publicKey: kp.publicKey,
    signingKey: kp.privateKey,
    notBefore: new Date(Date.now() - 86_400_000),
    notAfter: new Date(Date.now() + 86_400_000 * 30),
    keyUsage: ['digitalSignature'],
    dnsNames: ['pem.example'],
  }),
);

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'palisade-pem-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('PEM parsing', () => {
  it('takes linear time on BEGIN lines without END (256 KiB and 3.9 MB each well under a second)', () => {
    const line = '-----BEGIN CERTIFICATE-----\n';
    // a quadratic scan takes seconds on the first already
    for (const size of [256 << 10, 3.9 * (1 << 20)]) {
      const text = line.repeat(Math.floor(size / line.length));
      expect(text.length).toBeGreaterThan(size - line.length);
      const t0 = performance.now();
      expect(pemBlocks(text)).toEqual([]);
      expect(performance.now() - t0).toBeLessThan(400);
    }
    const text = line.repeat(40_000);
    // a real block after all of that is still found
    expect(pemBlocks(text.slice(0, 1 << 20) + cert).map((b) => b.label)).toEqual(['CERTIFICATE']);
  });

  it('reads several blocks, CRLF line endings, text around them, and legacy headers', () => {
    const key = keyPem(kp.privateKey);
    const mixed = `subject=/CN=pem\r\n${cert.replace(/\n/g, '\r\n')}some words\n${key}`;
    const blocks = pemBlocks(mixed);
    expect(blocks.map((b) => b.label)).toEqual(['CERTIFICATE', 'PRIVATE KEY']);
    expect(loadCertificates(Buffer.from(mixed), 'f')[0]?.commonName).toBe('pem');
    expect(loadPrivateKey(Buffer.from(mixed), 'f').asymmetricKeyType).toBe('ec');
    const legacy = pemBlocks('-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n');
    expect(legacy[0]?.body).toEqual(Buffer.from('AAAA', 'base64'));
    // an END of another label does not close the block
    expect(pemBlocks('-----BEGIN CERTIFICATE-----\nAAAA\n-----END PRIVATE KEY-----\n')).toEqual([]);
  });

  it('refuses an input over the size cap before parsing, and a file over it before reading', async () => {
    expect(() => pemBlocks(Buffer.alloc((4 << 20) + 1, 0x41))).toThrow(expect.objectContaining({ code: 'cert.file-too-large' }));
    const big = join(work, 'huge.pem');
    await writeFile(big, cert);
    await truncate(big, 64 << 20);
    const keyFile = join(work, 'k.pem');
    await writeFile(keyFile, keyPem(kp.privateKey));
    const e = await failure(checkCertificateFiles({ cert: big, key: keyFile, fqdn: 'pem.example' }));
    expect(e.code).toBe('cert.file-too-large');
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain('--cert');
  });
});
