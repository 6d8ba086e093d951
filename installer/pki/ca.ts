import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { OID } from './oids.ts';
import { buildCertificate, certPem, generateKeyPair, keyPem, subjectNameOf, type KeyAlgorithm, type KeyUsageName, type NameSpec } from './x509.ts';
import { sha256Digest } from '../core/hash.ts';

/** A certificate with its private key. */
export interface Issued {
  certDer: Buffer;
  certPem: string;
  keyPem: string;
  privateKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
  /** `sha256:<hex>` over the certificate DER */
  fingerprint: string;
}

export interface CertificateAuthority extends Issued {
  /** subject Name DER: the issuer field of what it signs */
  name: Buffer;
  /** SubjectPublicKeyInfo DER */
  spki: Buffer;
}

export const DAY_MS = 86_400_000;
/** certificates start a little in the past, so a host whose clock lags a few minutes accepts them */
const BACKDATE_MS = 5 * 60_000;

export const fingerprintOf = (certDer: Buffer): string => sha256Digest(certDer);

function addYears(d: Date, years: number): Date {
  const x = new Date(d.getTime());
  x.setUTCFullYear(x.getUTCFullYear() + years);
  return x;
}

function issued(certDer: Buffer, privateKey: KeyObject, notBefore: Date, notAfter: Date): Issued {
  return { certDer, certPem: certPem(certDer), keyPem: keyPem(privateKey), privateKey, notBefore, notAfter, fingerprint: fingerprintOf(certDer) };
}

function asCa(i: Issued): CertificateAuthority {
  return { ...i, name: subjectNameOf(i.certDer), spki: createPublicKey(i.privateKey).export({ type: 'spki', format: 'der' }) };
}

export interface CaOptions {
  subject: NameSpec;
  algorithm?: KeyAlgorithm;
  years?: number;
  now?: Date;
}

/** A self-signed root CA (10 years by default). */
export async function createRootCa(o: CaOptions): Promise<CertificateAuthority> {
  const kp = await generateKeyPair(o.algorithm);
  const now = o.now ?? new Date();
  const notBefore = new Date(now.getTime() - BACKDATE_MS);
  const notAfter = addYears(now, o.years ?? 10);
  const certDer = buildCertificate({
    subject: o.subject,
    publicKey: kp.publicKey,
    signingKey: kp.privateKey,
    notBefore,
    notAfter,
    ca: {},
    keyUsage: ['digitalSignature', 'keyCertSign', 'cRLSign'],
  });
  return asCa(issued(certDer, kp.privateKey, notBefore, notAfter));
}

/** An intermediate CA signed by `parent` (5 years, path length 0: it signs leaves only). */
export async function createIntermediateCa(parent: CertificateAuthority, o: CaOptions & { pathLength?: number }): Promise<CertificateAuthority> {
  const kp = await generateKeyPair(o.algorithm);
  const now = o.now ?? new Date();
  const notBefore = new Date(now.getTime() - BACKDATE_MS);
  const notAfter = clamp(addYears(now, o.years ?? 5), parent.notAfter);
  const certDer = buildCertificate({
    subject: o.subject,
    issuerName: parent.name,
    issuerSpki: parent.spki,
    publicKey: kp.publicKey,
    signingKey: parent.privateKey,
    notBefore,
    notAfter,
    ca: { pathLength: o.pathLength ?? 0 },
    keyUsage: ['digitalSignature', 'keyCertSign', 'cRLSign'],
  });
  return asCa(issued(certDer, kp.privateKey, notBefore, notAfter));
}

const clamp = (d: Date, max: Date): Date => (d.getTime() > max.getTime() ? new Date(max.getTime()) : d);

export type LeafUsage = 'server' | 'client' | 'server+client';

export interface LeafOptions {
  commonName: string;
  organization?: string;
  dnsNames?: string[];
  ipAddresses?: string[];
  usage: LeafUsage;
  algorithm?: KeyAlgorithm;
  days?: number;
  now?: Date;
}

/** A leaf certificate (1 year by default), never outliving its issuer. */
export async function issueCertificate(ca: CertificateAuthority, o: LeafOptions): Promise<Issued> {
  const kp = await generateKeyPair(o.algorithm);
  const now = o.now ?? new Date();
  const notBefore = new Date(now.getTime() - BACKDATE_MS);
  const notAfter = clamp(new Date(now.getTime() + (o.days ?? 365) * DAY_MS), ca.notAfter);
  const eku = o.usage === 'server' ? [OID.serverAuth] : o.usage === 'client' ? [OID.clientAuth] : [OID.serverAuth, OID.clientAuth];
  // RSA key exchange needs keyEncipherment; (EC)DHE with any key needs digitalSignature only
  const keyUsage: KeyUsageName[] = kp.privateKey.asymmetricKeyType === 'rsa' ? ['digitalSignature', 'keyEncipherment'] : ['digitalSignature'];
  const certDer = buildCertificate({
    subject: { commonName: o.commonName, ...(o.organization ? { organization: o.organization } : {}) },
    issuerName: ca.name,
    issuerSpki: ca.spki,
    publicKey: kp.publicKey,
    signingKey: ca.privateKey,
    notBefore,
    notAfter,
    keyUsage,
    extKeyUsage: eku,
    dnsNames: o.dnsNames ?? [],
    ipAddresses: o.ipAddresses ?? [],
  });
  return issued(certDer, kp.privateKey, notBefore, notAfter);
}

/** A CA back from its PEM forms (e.g. from the keystore, to issue or rotate a leaf). */
export function loadCa(certPemText: string, keyPemText: string): CertificateAuthority {
  const x = new X509Certificate(certPemText);
  const privateKey = createPrivateKey(keyPemText);
  if (!x.checkPrivateKey(privateKey)) throw new Error('the CA key does not match the CA certificate');
  return asCa(issued(Buffer.from(x.raw), privateKey, new Date(x.validFrom), new Date(x.validTo)));
}
