import { createPrivateKey, type KeyObject } from 'node:crypto';
import { PalisadeError } from '../core/errors.ts';
import { inspectCertificate, type CertInfo } from './inspect.ts';

/**
 * Reading what an operator hands over: PEM (any line endings, several blocks),
 * DER, PKCS#1 / SEC1 / PKCS#8 keys (encrypted too), PKCS#12.
 */

const refused = (code: string, message: string, hint?: string): PalisadeError => new PalisadeError(code, message, hint ? { hint } : {});

interface PemBlock {
  label: string;
  text: string;
  body: Buffer;
}

/**
 * A certificate, key or CA bundle file is at most a few hundred KiB (a full
 * system CA bundle is ~200 KiB); anything larger is refused before it is read.
 */
export const MAX_INPUT_BYTES = 4 << 20;

export function inputTooLarge(source: string, size: number): PalisadeError {
  return new PalisadeError(
    'cert.file-too-large',
    `${source} is ${(size / (1 << 20)).toFixed(1)} MiB; certificate, key and CA files are at most ${MAX_INPUT_BYTES >> 20} MiB`,
    {
      hint: 'give the PEM or DER file itself (not an archive or a disk image)',
      exitCode: 2,
    },
  );
}

const BEGIN_LINE = /^-----BEGIN ([A-Z0-9 ]+)-----\s*$/;

/**
 * The PEM blocks of a file, in one pass over its lines (linear time: a file of
 * BEGIN lines without END costs no more than any other file of its size).
 */
export function pemBlocks(data: Buffer | string): PemBlock[] {
  if (data.length > MAX_INPUT_BYTES) throw inputTooLarge('the PEM input', data.length);
  const text = (typeof data === 'string' ? data : data.toString('latin1')).replace(/\r\n?/g, '\n');
  const out: PemBlock[] = [];
  let open: { label: string; start: number; bodyStart: number } | undefined;
  for (let pos = 0; pos < text.length; ) {
    const nl = text.indexOf('\n', pos);
    const end = nl < 0 ? text.length : nl;
    const line = text.slice(pos, end);
    if (line.startsWith('-----BEGIN ')) {
      // a BEGIN inside an unfinished block starts over: the unfinished one is not a block
      const m = BEGIN_LINE.exec(line);
      open = m ? { label: m[1] as string, start: pos, bodyStart: end + 1 } : undefined;
    } else if (open && line.trimEnd() === `-----END ${open.label}-----`) {
      const inner = text.slice(open.bodyStart, pos);
      // headers (Proc-Type, DEK-Info) end at the first blank line
      const b64 = /^[A-Za-z-]+:/.test(inner) ? inner.slice(inner.indexOf('\n\n') + 2) : inner;
      out.push({ label: open.label, text: `${text.slice(open.start, end)}\n`, body: Buffer.from(b64.replace(/\s+/g, ''), 'base64') });
      open = undefined;
    }
    pos = end + 1;
  }
  return out;
}

const isPem = (data: Buffer): boolean => data.includes('-----BEGIN ');

/** Every certificate in a PEM file (in order) or the one in a DER file. */
export function loadCertificates(data: Buffer, source: string): CertInfo[] {
  if (data.length === 0) throw refused('cert.unreadable', `${source} is empty`);
  const ders = isPem(data)
    ? pemBlocks(data)
        .filter((b) => b.label === 'CERTIFICATE' || b.label === 'X509 CERTIFICATE' || b.label === 'TRUSTED CERTIFICATE')
        .map((b) => b.body)
    : [data];
  if (ders.length === 0) {
    const labels = pemBlocks(data).map((b) => b.label);
    throw refused(
      'cert.unreadable',
      `${source} holds no certificate${labels.length ? ` (it holds: ${labels.join(', ')})` : ''}`,
      'pass the certificate (PEM "BEGIN CERTIFICATE" or DER) with --cert',
    );
  }
  return ders.map((d, i) => {
    try {
      return inspectCertificate(d);
    } catch (e) {
      throw refused(
        'cert.unreadable',
        `${source}${ders.length > 1 ? ` (certificate ${i + 1})` : ''} is not a readable X.509 certificate: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  });
}

function keyError(e: unknown, source: string, hasPassphrase: boolean): PalisadeError {
  const err = e as NodeJS.ErrnoException;
  const msg = err?.message ?? String(e);
  if (err?.code === 'ERR_MISSING_PASSPHRASE' || /passphrase required|missing passphrase/i.test(msg)) {
    return refused(
      'cert.key-encrypted',
      `the private key in ${source} is encrypted and no passphrase was given`,
      'pass --key-passphrase-file FILE holding its passphrase',
    );
  }
  if (hasPassphrase && /bad decrypt|decrypt|unsupported|wrong|DECODER/i.test(msg)) {
    return refused('cert.key-passphrase', `cannot decrypt the private key in ${source}: wrong passphrase`, 'check the file given with --key-passphrase-file');
  }
  return refused('cert.key-unreadable', `${source} does not hold a readable private key (PEM or DER; PKCS#1, SEC1 or PKCS#8)`);
}

const ENCRYPTED_PEM = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/;

/** The private key in a file: PEM (PKCS#1, SEC1, PKCS#8, encrypted PKCS#8 or legacy-encrypted) or DER. */
export function loadPrivateKey(data: Buffer, source: string, passphrase?: string): KeyObject {
  if (data.length === 0) throw refused('cert.key-unreadable', `${source} is empty`);
  if (isPem(data)) {
    const block = pemBlocks(data).find((b) => /PRIVATE KEY$/.test(b.label));
    if (!block) {
      const labels = pemBlocks(data).map((b) => b.label);
      throw refused(
        'cert.key-unreadable',
        `${source} holds no private key${labels.length ? ` (it holds: ${labels.join(', ')})` : ''}`,
        'pass the key file with --key',
      );
    }
    const encrypted = ENCRYPTED_PEM.test(block.text);
    if (encrypted && passphrase === undefined) throw keyError({ code: 'ERR_MISSING_PASSPHRASE' }, source, false);
    try {
      return createPrivateKey({ key: block.text, format: 'pem', ...(passphrase !== undefined ? { passphrase } : {}) });
    } catch (e) {
      throw keyError(e, source, encrypted);
    }
  }
  // DER: PKCS#8 (plain or encrypted), PKCS#1, SEC1
  const attempts: Array<{ type: 'pkcs8' | 'pkcs1' | 'sec1' }> = [{ type: 'pkcs8' }, { type: 'pkcs1' }, { type: 'sec1' }];
  let last: unknown;
  for (const a of attempts) {
    try {
      return createPrivateKey({ key: data, format: 'der', type: a.type, ...(passphrase !== undefined && a.type === 'pkcs8' ? { passphrase } : {}) });
    } catch (e) {
      last = e;
      if ((e as NodeJS.ErrnoException).code === 'ERR_MISSING_PASSPHRASE') throw keyError(e, source, false);
      if (a.type === 'pkcs8' && passphrase !== undefined && looksEncryptedPkcs8(data)) throw keyError(e, source, true);
    }
  }
  throw keyError(last, source, false);
}

/** EncryptedPrivateKeyInfo: SEQUENCE { SEQUENCE { OID ... }, OCTET STRING } */
function looksEncryptedPkcs8(d: Buffer): boolean {
  return d[0] === 0x30 && d.includes(Buffer.from([0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d])); // pkcs5PBES2
}

// The file chooses its own key-derivation cost before anything is authenticated: an unbounded
// count is a way to hang the import. Common tools write 2048 (OpenSSL) to 600 000 (NIST's figure).
const MAX_P12_ITERATIONS = 600_000;

class KdfCostRefused extends Error {
  constructor(readonly iterations: number) {
    super('key-derivation iteration count over the bound');
  }
}

/** Runs a synchronous node-forge PKCS#12 parse with every key derivation it starts checked against `max` iterations first. */
function withKdfIterationBound<T>(forge: typeof import('node-forge'), max: number, parse: () => T): T {
  type Kdf = (...a: unknown[]) => unknown;
  const slots: Array<[Record<string, unknown>, string, number]> = [
    [forge.pkcs12 as unknown as Record<string, unknown>, 'generateKey', 3],
    [(forge.pki as unknown as { pbe: Record<string, unknown> }).pbe, 'generatePkcs12Key', 3],
    [forge.pkcs5 as unknown as Record<string, unknown>, 'pbkdf2', 2],
  ];
  const saved = slots.map(([obj, name]) => obj[name] as Kdf);
  slots.forEach(([obj, name, countArg], i) => {
    obj[name] = (...a: unknown[]) => {
      const count = Number(a[countArg]);
      if (!Number.isFinite(count) || count > max) throw new KdfCostRefused(count);
      return saved[i]!(...a);
    };
  });
  try {
    return parse();
  } finally {
    slots.forEach(([obj, name], i) => {
      obj[name] = saved[i];
    });
  }
}

/** A PKCS#12 file: its private key and certificates. */
export async function loadPkcs12(data: Buffer, source: string, passphrase: string | undefined): Promise<{ key: KeyObject; certs: CertInfo[] }> {
  const forge = (await import('node-forge')).default;
  let p12: import('node-forge').pkcs12.Pkcs12Pfx;
  try {
    const asn1 = forge.asn1.fromDer(forge.util.createBuffer(data.toString('binary')));
    p12 = withKdfIterationBound(forge, MAX_P12_ITERATIONS, () => forge.pkcs12.pkcs12FromAsn1(asn1, false, passphrase ?? ''));
  } catch (e) {
    if (e instanceof KdfCostRefused) {
      throw refused(
        'cert.p12-cost',
        `${source} asks for ${e.iterations} key-derivation iterations; palisade accepts at most ${MAX_P12_ITERATIONS}`,
        'export the PKCS#12 file again with default settings (openssl pkcs12 -export uses 2048)',
      );
    }
    const msg = e instanceof Error ? e.message : String(e);
    if (/MAC could not be verified|Invalid password|decrypt/i.test(msg)) {
      throw refused(
        'cert.p12-passphrase',
        passphrase === undefined ? `${source} is protected by a passphrase and none was given` : `cannot open ${source}: wrong passphrase`,
        'pass --key-passphrase-file FILE holding its passphrase',
      );
    }
    throw refused('cert.p12-unreadable', `${source} is not a readable PKCS#12 file: ${msg}`);
  }
  const keys: KeyObject[] = [];
  const certs: CertInfo[] = [];
  for (const sc of p12.safeContents) {
    for (const bag of sc.safeBags) {
      const b = bag as typeof bag & { asn1?: import('node-forge').asn1.Asn1 };
      if (bag.type === forge.pki.oids.certBag) {
        const asn = b.asn1 ?? (bag.cert ? forge.pki.certificateToAsn1(bag.cert) : undefined);
        if (asn) certs.push(inspectCertificate(Buffer.from(forge.asn1.toDer(asn).getBytes(), 'binary')));
      } else if (bag.type === forge.pki.oids.pkcs8ShroudedKeyBag || bag.type === forge.pki.oids.keyBag) {
        const asn =
          b.asn1 ?? (bag.key ? forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(bag.key as import('node-forge').pki.rsa.PrivateKey)) : undefined);
        if (asn) keys.push(createPrivateKey({ key: Buffer.from(forge.asn1.toDer(asn).getBytes(), 'binary'), format: 'der', type: 'pkcs8' }));
      }
    }
  }
  if (keys.length !== 1) throw refused('cert.p12-contents', `${source} holds ${keys.length} private keys; palisade needs exactly one`);
  if (certs.length === 0) throw refused('cert.p12-contents', `${source} holds no certificate`);
  return { key: keys[0]!, certs };
}
