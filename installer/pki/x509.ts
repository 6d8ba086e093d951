import { generateKeyPair as genKeyPair, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { promisify } from 'node:util';
import * as der from './der.ts';
import { OID } from './oids.ts';
import { sha256Bytes } from '../core/hash.ts';

/**
 * X.509 building: node:crypto makes the keys and the signatures, this module
 * writes the TBSCertificate in DER itself (node-forge cannot sign with ECDSA,
 * and its RSA signing is pure JavaScript).
 */

const generate = promisify(genKeyPair);

export type KeyAlgorithm = 'ecdsa-p256' | 'ecdsa-p384' | 'rsa-2048' | 'rsa-3072' | 'rsa-4096' | 'ed25519';
export const DEFAULT_KEY_ALGORITHM: KeyAlgorithm = 'ecdsa-p256';

export interface KeyPair {
  algorithm: KeyAlgorithm;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** A key pair from node:crypto (RSA in the thread pool, so several generate at once). */
export async function generateKeyPair(algorithm: KeyAlgorithm = DEFAULT_KEY_ALGORITHM): Promise<KeyPair> {
  let kp: { privateKey: KeyObject; publicKey: KeyObject };
  switch (algorithm) {
    case 'ecdsa-p256':
      kp = await generate('ec', { namedCurve: 'prime256v1' });
      break;
    case 'ecdsa-p384':
      kp = await generate('ec', { namedCurve: 'secp384r1' });
      break;
    case 'rsa-2048':
    case 'rsa-3072':
    case 'rsa-4096':
      kp = await generate('rsa', { modulusLength: Number(algorithm.slice(4)), publicExponent: 0x10001 });
      break;
    case 'ed25519':
      kp = await generate('ed25519', {});
      break;
    default:
      throw new Error(`unknown key algorithm ${String(algorithm)}`);
  }
  return { algorithm, ...kp };
}

/** A distinguished name, written in this order. */
export interface NameSpec {
  commonName: string;
  organization?: string;
  organizationalUnit?: string;
}

export function encodeName(n: NameSpec): Buffer {
  const rdn = (type: string, value: string) => der.set(der.seq(der.oid(type), der.utf8(value)));
  const parts: Buffer[] = [];
  if (n.organization) parts.push(rdn(OID.organization, n.organization));
  if (n.organizationalUnit) parts.push(rdn(OID.organizationalUnit, n.organizationalUnit));
  parts.push(rdn(OID.commonName, n.commonName));
  return der.seq(...parts);
}

/** The signature algorithm a key signs certificates with, and the node:crypto digest for it. */
function signatureAlgorithm(key: KeyObject): { id: Buffer; digest: string | null } {
  const type = key.asymmetricKeyType;
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'secp384r1') return { id: der.seq(der.oid(OID.ecdsaSha384)), digest: 'sha384' };
    if (curve === 'secp521r1') return { id: der.seq(der.oid(OID.ecdsaSha512)), digest: 'sha512' };
    return { id: der.seq(der.oid(OID.ecdsaSha256)), digest: 'sha256' };
  }
  if (type === 'rsa') return { id: der.seq(der.oid(OID.sha256WithRSA), der.nul()), digest: 'sha256' };
  if (type === 'ed25519') return { id: der.seq(der.oid(OID.ed25519)), digest: null };
  throw new Error(`cannot sign certificates with a ${type ?? 'unknown'} key`);
}

/** The subjectPublicKey bits of a public key (what key identifiers hash). */
export function publicKeyBits(spkiDer: Buffer): Buffer {
  const spki = der.parse(spkiDer);
  const bits = spki.children[1];
  if (!bits || bits.tag !== der.TAG.BIT_STRING) throw new Error('malformed SubjectPublicKeyInfo');
  return bits.body.subarray(1);
}

/** Key identifier: the first 160 bits of SHA-256 over the public key bits (RFC 7093, method 1). */
export function keyIdentifier(spkiDer: Buffer): Buffer {
  return sha256Bytes(publicKeyBits(spkiDer)).subarray(0, 20);
}

export type KeyUsageName = 'digitalSignature' | 'nonRepudiation' | 'keyEncipherment' | 'dataEncipherment' | 'keyAgreement' | 'keyCertSign' | 'cRLSign';
export const KEY_USAGE_BITS: KeyUsageName[] = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
];

function keyUsageValue(usages: readonly KeyUsageName[]): Buffer {
  let v = 0;
  let last = 0;
  for (const u of usages) {
    const bit = KEY_USAGE_BITS.indexOf(u);
    v |= 0x80 >> bit;
    last = Math.max(last, bit);
  }
  return der.bitString(Buffer.from([v]), 7 - last);
}

export const ext = (id: string, critical: boolean, value: Buffer): Buffer =>
  critical ? der.seq(der.oid(id), der.bool(true), der.octets(value)) : der.seq(der.oid(id), der.octets(value));

/** The bytes of an IPv4 or IPv6 address as a certificate holds them (4 or 16). */
export function ipBytes(ip: string): Buffer {
  const v = isIP(ip);
  if (v === 4) return Buffer.from(ip.split('.').map(Number));
  if (v === 6) {
    const [head = '', tail] = ip.split('::') as [string, string | undefined];
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
    const b = Buffer.alloc(16);
    for (const [i, g] of groups.entries()) b.writeUInt16BE(parseInt(g, 16), i * 2);
    return b;
  }
  throw new Error(`not an IP address: ${ip}`);
}

export interface CertificateSpec {
  subject: NameSpec;
  /** the issuer's subject as it appears in the issuer certificate (DER) — omit for self-signed */
  issuerName?: Buffer;
  /** the issuer's public key in SPKI DER (for the authority key identifier) — omit for self-signed */
  issuerSpki?: Buffer;
  publicKey: KeyObject;
  signingKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
  ca?: { pathLength?: number };
  keyUsage: KeyUsageName[];
  extKeyUsage?: string[];
  dnsNames?: string[];
  ipAddresses?: string[];
  serial?: Buffer;
  /** further extensions, each a DER Extension (e.g. nameConstraints for a constrained CA) */
  extensions?: Buffer[];
}

/** Build and sign a certificate; returns its DER. */
export function buildCertificate(spec: CertificateSpec): Buffer {
  const spki = spec.publicKey.export({ type: 'spki', format: 'der' });
  const subjectName = encodeName(spec.subject);
  const issuerName = spec.issuerName ?? subjectName;
  const issuerSpki = spec.issuerSpki ?? spki;
  const sig = signatureAlgorithm(spec.signingKey);
  const serial = spec.serial ?? randomBytes(16);
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x40; // positive, 16 bytes, never a leading zero

  const exts: Buffer[] = [];
  exts.push(
    ext(OID.basicConstraints, true, spec.ca ? der.seq(der.bool(true), ...(spec.ca.pathLength !== undefined ? [der.int(spec.ca.pathLength)] : [])) : der.seq()),
  );
  exts.push(ext(OID.keyUsage, true, keyUsageValue(spec.keyUsage)));
  if (spec.extKeyUsage?.length) exts.push(ext(OID.extKeyUsage, false, der.seq(...spec.extKeyUsage.map((o) => der.oid(o)))));
  const san = [
    ...(spec.dnsNames ?? []).map((d) => der.implicitPrim(2, Buffer.from(d, 'ascii'))),
    ...(spec.ipAddresses ?? []).map((ip) => der.implicitPrim(7, ipBytes(ip))),
  ];
  if (san.length) exts.push(ext(OID.subjectAltName, false, der.seq(...san)));
  exts.push(ext(OID.subjectKeyIdentifier, false, der.octets(keyIdentifier(spki))));
  exts.push(ext(OID.authorityKeyIdentifier, false, der.seq(der.implicitPrim(0, keyIdentifier(issuerSpki)))));
  exts.push(...(spec.extensions ?? []));

  const tbs = der.seq(
    der.explicit(0, der.int(2)),
    der.uint(serial),
    sig.id,
    issuerName,
    der.seq(der.time(spec.notBefore), der.time(spec.notAfter)),
    subjectName,
    spki,
    der.explicit(3, der.seq(...exts)),
  );
  const signature = sign(sig.digest, tbs, spec.signingKey);
  return der.seq(tbs, sig.id, der.bitString(signature));
}

export function toPem(label: string, body: Buffer): string {
  const b64 = body.toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

export const certPem = (derBytes: Buffer): string => toPem('CERTIFICATE', derBytes);
export const keyPem = (k: KeyObject): string => k.export({ type: 'pkcs8', format: 'pem' }).toString();

/** The subject Name of a certificate, byte for byte (what its children name as issuer). */
export function subjectNameOf(certDer: Buffer): Buffer {
  const tbs = der.parse(certDer).children[0]!;
  const f = tbs.children;
  const off = f[0]!.tag === 0xa0 ? 1 : 0;
  return f[off + 4]!.raw;
}
