import { X509Certificate } from 'node:crypto';
import { printable } from '../core/printable.ts';
import * as der from './der.ts';
import { CURVE_NAMES, NAME_ATTRS, OID, SIGNATURE_NAMES } from './oids.ts';
import { KEY_USAGE_BITS, type KeyUsageName } from './x509.ts';
import { sha256Digest } from '../core/hash.ts';

/**
 * Everything the import checks need from one certificate, read from its DER.
 * node:crypto's X509Certificate is kept for signature checks and key matching.
 */

export interface PublicKeyInfo {
  /** rsa | ec | ed25519 | ed448 | dsa | the OID */
  type: string;
  bits: number | undefined;
  /** curve name (P-256 ...) or OID for EC keys */
  curve: string | undefined;
}

export interface CertInfo {
  der: Buffer;
  x509: X509Certificate;
  version: number;
  serial: string;
  signatureOid: string;
  signatureName: string;
  issuerDer: Buffer;
  subjectDer: Buffer;
  /** the names for display: control characters escaped (see core/printable) */
  issuer: string;
  subject: string;
  /** as written in the certificate (compare with this; show it through printable()) */
  commonName: string | undefined;
  notBefore: Date;
  notAfter: Date;
  publicKey: PublicKeyInfo;
  basicConstraints: { ca: boolean; pathLength: number | undefined } | undefined;
  keyUsage: Set<KeyUsageName> | undefined;
  extKeyUsage: string[] | undefined;
  /** as written in the certificate (compare with these; show them through printable()) */
  san: { dns: string[]; ip: string[]; other: number } | undefined;
  /** a CA's nameConstraints: what names the certificates below it may hold */
  nameConstraints: NameConstraints | undefined;
  subjectKeyId: string | undefined;
  authorityKeyId: string | undefined;
  /** subject and issuer names are the same */
  selfIssued: boolean;
  fingerprint: string;
}

/** One GeneralSubtree of a nameConstraints extension (RFC 5280 4.2.1.10). */
export type Subtree =
  | { type: 'dns'; name: string }
  | { type: 'ip'; address: Buffer; mask: Buffer }
  /** a form palisade does not check (email, URI, directory name, ...): its GeneralName tag */
  | { type: 'other'; tag: number };

export interface NameConstraints {
  permitted: Subtree[];
  excluded: Subtree[];
}

function subtrees(node: der.Node | undefined): Subtree[] {
  return (node?.children ?? []).map((st) => {
    const base = st.children[0];
    if (!base) return { type: 'other', tag: -1 };
    if (base.tag === 0x82) return { type: 'dns', name: base.body.toString('latin1') };
    if (base.tag === 0x87 && (base.body.length === 8 || base.body.length === 32)) {
      const half = base.body.length / 2;
      return { type: 'ip', address: base.body.subarray(0, half), mask: base.body.subarray(half) };
    }
    return { type: 'other', tag: base.tag };
  });
}

/** A Name as text for the operator, values escaped so a crafted certificate cannot drive the terminal. */
export function formatName(nameDer: Buffer): string {
  const parts: string[] = [];
  for (const rdn of der.parse(nameDer).children) {
    for (const atv of rdn.children) {
      const [type, value] = atv.children;
      if (!type || !value) continue;
      const id = der.readOid(type);
      parts.push(`${NAME_ATTRS[id] ?? id}=${printable(der.readString(value))}`);
    }
  }
  return parts.reverse().join(', ');
}

function commonNameOf(nameDer: Buffer): string | undefined {
  let cn: string | undefined;
  for (const rdn of der.parse(nameDer).children)
    for (const atv of rdn.children) if (atv.children[0] && der.readOid(atv.children[0]) === OID.commonName) cn = der.readString(atv.children[1]!);
  return cn;
}

function ipString(b: Buffer): string {
  if (b.length === 4) return [...b].join('.');
  if (b.length === 16) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
    return groups
      .join(':')
      .replace(/(^|:)0(:0)+(:|$)/, '::')
      .replace(/:{3,}/, '::');
  }
  return b.toString('hex');
}

function publicKeyInfo(spki: der.Node): PublicKeyInfo {
  const [alg, bits] = spki.children;
  const algOid = der.readOid(alg!.children[0]!);
  if (algOid === OID.rsaEncryption) {
    const rsa = der.parse(bits!.body.subarray(1));
    const n = rsa.children[0]!.body;
    let i = 0;
    while (i < n.length && n[i] === 0) i++;
    const top = n[i] ?? 0;
    return { type: 'rsa', bits: (n.length - i - 1) * 8 + (top ? Math.floor(Math.log2(top)) + 1 : 0), curve: undefined };
  }
  if (algOid === OID.ecPublicKey) {
    const param = alg!.children[1];
    const curveOid = param && param.tag === der.TAG.OID ? der.readOid(param) : 'explicit parameters';
    const name = CURVE_NAMES[curveOid] ?? curveOid;
    const size = { 'P-256': 256, 'P-384': 384, 'P-521': 521, secp256k1: 256, 'P-192': 192, 'P-224': 224, brainpoolP256r1: 256 }[name];
    return { type: 'ec', bits: size, curve: name };
  }
  if (algOid === OID.ed25519) return { type: 'ed25519', bits: 256, curve: undefined };
  if (algOid === OID.ed448) return { type: 'ed448', bits: 456, curve: undefined };
  if (algOid === OID.dsa) return { type: 'dsa', bits: undefined, curve: undefined };
  return { type: algOid, bits: undefined, curve: undefined };
}

/** Parse one DER certificate. Throws on anything that is not an X.509 certificate. */
export function inspectCertificate(certDer: Buffer): CertInfo {
  const x509 = new X509Certificate(certDer);
  const cert = der.parse(certDer);
  const [tbs, sigAlg] = cert.children;
  if (!tbs || !sigAlg) throw new Error('not an X.509 certificate');
  const f = tbs.children;
  const hasVersion = f[0]!.tag === 0xa0;
  const version = hasVersion ? Number(f[0]!.children[0]!.body[0] ?? 0) + 1 : 1;
  const o = hasVersion ? 1 : 0;
  const serial = f[o]!.body.toString('hex');
  const issuerDer = f[o + 2]!.raw;
  const validity = f[o + 3]!.children;
  const subjectDer = f[o + 4]!.raw;
  const spki = f[o + 5]!;
  const signatureOid = der.readOid(sigAlg.children[0]!);
  const info: CertInfo = {
    der: certDer,
    x509,
    version,
    serial,
    signatureOid,
    signatureName: SIGNATURE_NAMES[signatureOid] ?? signatureOid,
    issuerDer,
    subjectDer,
    issuer: formatName(issuerDer),
    subject: formatName(subjectDer),
    commonName: commonNameOf(subjectDer),
    notBefore: der.readTime(validity[0]!),
    notAfter: der.readTime(validity[1]!),
    publicKey: publicKeyInfo(spki),
    basicConstraints: undefined,
    keyUsage: undefined,
    extKeyUsage: undefined,
    san: undefined,
    nameConstraints: undefined,
    subjectKeyId: undefined,
    authorityKeyId: undefined,
    selfIssued: issuerDer.equals(subjectDer),
    fingerprint: sha256Digest(certDer),
  };
  const extsNode = f.slice(o + 6).find((n) => n.tag === 0xa3);
  for (const ext of extsNode ? extsNode.children[0]!.children : []) {
    const c = ext.children;
    const id = der.readOid(c[0]!);
    const value = c[c.length - 1]!.body;
    const v = der.parse(value);
    switch (id) {
      case OID.basicConstraints: {
        const k = v.children;
        const ca = k[0]?.tag === der.TAG.BOOLEAN ? k[0].body[0] !== 0 : false;
        const pl = k.find((n) => n.tag === der.TAG.INTEGER);
        info.basicConstraints = { ca, pathLength: pl ? pl.body.reduce((a, b) => a * 256 + b, 0) : undefined };
        break;
      }
      case OID.keyUsage: {
        const bits = v.body.subarray(1);
        const set = new Set<KeyUsageName>();
        KEY_USAGE_BITS.forEach((name, i) => {
          if (((bits[i >> 3] ?? 0) >> (7 - (i & 7))) & 1) set.add(name);
        });
        info.keyUsage = set;
        break;
      }
      case OID.extKeyUsage:
        info.extKeyUsage = v.children.map((n) => der.readOid(n));
        break;
      case OID.subjectAltName: {
        const san = { dns: [] as string[], ip: [] as string[], other: 0 };
        for (const g of v.children) {
          if (g.tag === 0x82) san.dns.push(g.body.toString('latin1'));
          else if (g.tag === 0x87) san.ip.push(ipString(g.body));
          else san.other++;
        }
        info.san = san;
        break;
      }
      case OID.nameConstraints: {
        const permitted = v.children.find((n) => n.tag === 0xa0);
        const excluded = v.children.find((n) => n.tag === 0xa1);
        info.nameConstraints = { permitted: subtrees(permitted), excluded: subtrees(excluded) };
        break;
      }
      case OID.subjectKeyIdentifier:
        info.subjectKeyId = v.body.toString('hex');
        break;
      case OID.authorityKeyIdentifier: {
        const k = v.children.find((n) => n.tag === 0x80);
        if (k) info.authorityKeyId = k.body.toString('hex');
        break;
      }
      default:
        break;
    }
  }
  return info;
}
