import { createPublicKey, type KeyObject } from 'node:crypto';
import { printable } from '../core/printable.ts';
import { nameConstraintProblems } from './constraints.ts';
import { certificateCovers } from './hostname.ts';
import type { CertInfo } from './inspect.ts';
import { OID, WEAK_SIGNATURES } from './oids.ts';

/**
 * Checking an operator's certificate as carefully as a browser would, before
 * palisade installs it for the appliance FQDN. Pure: certificates, key, FQDN
 * and the time in; a report with every problem out.
 */

export interface Problem {
  code: string;
  message: string;
}

export interface ValidationInput {
  /** certificates from --cert (or the PKCS#12): the leaf, maybe with its chain */
  certs: CertInfo[];
  key: KeyObject;
  /** certificates from --chain, in the order given */
  chain: CertInfo[];
  /** trust anchors from --ca */
  ca: CertInfo[];
  fqdn: string;
  now?: Date;
  /** warn when the certificate expires within this many days (30) */
  warnDays?: number;
}

export interface ValidationReport {
  ok: boolean;
  errors: Problem[];
  warnings: Problem[];
  notes: string[];
  leaf: CertInfo;
  /** the issuers of the leaf in order, up to and not including the root */
  intermediates: CertInfo[];
  /** the root the chain ends at, when given */
  root: CertInfo | undefined;
}

const DAY = 86_400_000;
export const STRONG_CURVES = new Set(['P-256', 'P-384', 'P-521']);
const day = (d: Date): string => d.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';

const uniqueByFingerprint = (xs: CertInfo[]): CertInfo[] => {
  const seen = new Set<string>();
  return xs.filter((c) => {
    if (seen.has(c.fingerprint)) return false;
    seen.add(c.fingerprint);
    return true;
  });
};

const signedBy = (child: CertInfo, issuer: CertInfo): boolean => {
  try {
    return child.x509.verify(issuer.x509.publicKey);
  } catch {
    return false;
  }
};

function keyStrength(c: CertInfo, what: string): Problem | undefined {
  const k = c.publicKey;
  if (k.type === 'rsa' && (k.bits ?? 0) < 2048)
    return { code: 'cert.weak-key', message: `${what} has a ${k.bits}-bit RSA key; at least 2048 bits are required` };
  if (k.type === 'ec' && !STRONG_CURVES.has(k.curve ?? ''))
    return { code: 'cert.weak-curve', message: `${what} uses the elliptic curve ${k.curve}; only P-256, P-384 and P-521 are accepted by clients` };
  if (k.type === 'dsa') return { code: 'cert.weak-key', message: `${what} has a DSA key, which TLS clients no longer accept` };
  if (!['rsa', 'ec', 'ed25519', 'ed448'].includes(k.type)) return { code: 'cert.weak-key', message: `${what} has a key of unknown type ${k.type}` };
  return undefined;
}

export function validateCertificate(input: ValidationInput): ValidationReport {
  const now = input.now ?? new Date();
  const warnDays = input.warnDays ?? 30;
  const errors: Problem[] = [];
  const warnings: Problem[] = [];
  const notes: string[] = [];
  const err = (code: string, message: string) => errors.push({ code, message });

  // --- which certificate is the leaf: the one the key belongs to
  const keyPub = createPublicKey(input.key).export({ type: 'spki', format: 'der' });
  const matching = input.certs.filter((c) => c.x509.publicKey.export({ type: 'spki', format: 'der' }).equals(keyPub));
  let leaf = matching[0] ?? input.certs[0]!;
  if (matching.length === 0) {
    const inChain = [...input.chain, ...input.ca].find((c) => c.x509.publicKey.export({ type: 'spki', format: 'der' }).equals(keyPub));
    err(
      'cert.key-mismatch',
      `the private key does not match the certificate (${leaf.subject}, ${leaf.fingerprint.slice(0, 23)}…)${inChain ? `; it belongs to ${inChain.subject} from the chain` : ''}`,
    );
  } else if (leaf !== input.certs[0]) {
    notes.push(`the certificate file did not start with the server certificate; ${leaf.subject} is used as the leaf`);
  }
  leaf = matching[0] ?? leaf;

  // --- the leaf itself
  if (leaf.basicConstraints?.ca) err('cert.ca-as-leaf', `${leaf.subject} is a CA certificate (basicConstraints CA:TRUE), not a server certificate`);
  const cover = certificateCovers(leaf.san, leaf.commonName, input.fqdn);
  if (!cover.ok) err('cert.name-mismatch', cover.reason ?? `the certificate does not cover ${input.fqdn}`);
  if (leaf.notBefore.getTime() > now.getTime()) err('cert.not-yet-valid', `the certificate is not valid yet: it is valid from ${day(leaf.notBefore)}`);
  if (leaf.notAfter.getTime() <= now.getTime()) err('cert.expired', `the certificate expired on ${day(leaf.notAfter)}`);
  else if (leaf.notAfter.getTime() - now.getTime() < warnDays * DAY) {
    warnings.push({
      code: 'cert.expires-soon',
      message: `the certificate expires in ${Math.ceil((leaf.notAfter.getTime() - now.getTime()) / DAY)} days (${day(leaf.notAfter)})`,
    });
  }
  if (leaf.extKeyUsage && !leaf.extKeyUsage.includes(OID.serverAuth) && !leaf.extKeyUsage.includes(OID.anyExtendedKeyUsage)) {
    err(
      'cert.eku',
      `the certificate's extended key usage does not include serverAuth (TLS Web Server Authentication); it allows only ${leaf.extKeyUsage.map((o) => (o === OID.clientAuth ? 'clientAuth' : o)).join(', ')}`,
    );
  }
  if (leaf.keyUsage && !leaf.basicConstraints?.ca) {
    const ku = leaf.keyUsage;
    const needs = leaf.publicKey.type === 'rsa' ? ku.has('digitalSignature') || ku.has('keyEncipherment') : ku.has('digitalSignature');
    if (!needs)
      err(
        'cert.key-usage',
        `the certificate's key usage (${[...ku].join(', ') || 'none'}) does not allow TLS server authentication (needs digitalSignature${leaf.publicKey.type === 'rsa' ? ' or keyEncipherment' : ''})`,
      );
  }
  const ks = keyStrength(leaf, 'the certificate');
  if (ks) errors.push(ks);
  if (leaf.publicKey.type === 'ed25519' || leaf.publicKey.type === 'ed448')
    warnings.push({ code: 'cert.eddsa', message: `the certificate has an ${leaf.publicKey.type} key, which most browsers do not accept yet` });
  if (WEAK_SIGNATURES.has(leaf.signatureOid))
    err('cert.weak-signature', `the certificate is signed with ${leaf.signatureName}; SHA-1 and MD5 signatures are refused by clients`);
  if (leaf.version !== 3) err('cert.version', `the certificate is X.509 version ${leaf.version}; version 3 (with extensions) is required`);

  // --- the chain: from the leaf up, issuer by issuer, through what was given
  const given = uniqueByFingerprint([...input.certs.filter((c) => c !== leaf), ...input.chain].filter((c) => c.fingerprint !== leaf.fingerprint));
  const anchors = uniqueByFingerprint(input.ca);
  const pool = uniqueByFingerprint([...given, ...anchors]);
  const path: CertInfo[] = [leaf];
  let cur = leaf;
  let broken = false;
  while (!cur.selfIssued && path.length < 10) {
    const named = pool.filter((c) => c.subjectDer.equals(cur.issuerDer) && !path.includes(c));
    if (named.length === 0) break;
    const issuer = named.find((c) => signedBy(cur, c));
    if (!issuer) {
      err(
        'cert.chain-signature',
        `the chain does not verify: ${cur.subject} names ${cur.issuer} as its issuer, but its signature does not verify with the key of the ${named[0]!.subject} certificate given (${named[0]!.fingerprint.slice(0, 23)}…)`,
      );
      broken = true;
      break;
    }
    path.push(issuer);
    cur = issuer;
  }
  const top = path[path.length - 1]!;
  const unused = given.filter((c) => !path.includes(c));
  const reachedAnchor = path.slice(1).some((c) => anchors.some((a) => a.fingerprint === c.fingerprint));
  let root: CertInfo | undefined;
  if (!broken && top.selfIssued && path.length > 1) {
    if (!signedBy(top, top)) err('cert.chain-signature', `the root ${top.subject} is not validly self-signed`);
    root = top;
  }
  if (!broken) {
    if (anchors.length > 0 && !reachedAnchor) {
      const ca = anchors.map((a) => a.subject).join('; ');
      if (!top.selfIssued)
        err(
          'cert.chain-incomplete',
          `missing intermediate: no certificate for ${top.issuer}, the issuer of ${top.subject}, was given, so the chain cannot reach the CA ${ca}`,
        );
      else if (path.length > 1) err('cert.untrusted-root', `the chain ends at the root ${top.subject}, which is not the CA given with --ca (${ca})`);
      else err('cert.untrusted-root', `the certificate is self-signed and not issued by the CA given with --ca (${ca})`);
    } else if (anchors.length === 0 && !top.selfIssued) {
      if (unused.length > 0)
        err(
          'cert.chain-incomplete',
          `missing intermediate: no certificate for ${top.issuer}, the issuer of ${top.subject}, was given (the chain holds ${unused.map((c) => c.subject).join('; ')})`,
        );
      else
        warnings.push({
          code: 'cert.no-ca',
          message: `no CA given: the chain ends at ${top.subject}, issued by ${top.issuer}; palisade cannot check that it reaches a root your clients trust (pass the root with --ca, or add the intermediates and root to --chain)`,
        });
    } else if (anchors.length === 0 && top.selfIssued && path.length === 1) {
      warnings.push({ code: 'cert.self-signed', message: 'the certificate is self-signed: clients trust it only where it is installed' });
    }
  }
  if (unused.length > 0 && !broken && !errors.some((e) => e.code === 'cert.chain-incomplete')) {
    warnings.push({
      code: 'cert.chain-extra',
      message: `left out of the chain (not an issuer of this certificate): ${unused.map((c) => c.subject).join('; ')}`,
    });
  }

  // issuers: CAs, in date, strong, with room in their path length
  path.slice(1).forEach((ca, i) => {
    const what = `${i === path.length - 2 && ca.selfIssued ? 'the root' : 'the intermediate'} ${ca.subject}`;
    if (!ca.basicConstraints?.ca) err('cert.issuer-not-ca', `${what} issued ${path[i]!.subject} but is not a CA certificate (no basicConstraints CA:TRUE)`);
    if (ca.keyUsage && !ca.keyUsage.has('keyCertSign')) err('cert.issuer-not-ca', `${what} may not sign certificates (its key usage lacks keyCertSign)`);
    const below = i; // intermediate CAs between this one and the leaf
    if (ca.basicConstraints?.pathLength !== undefined && below > ca.basicConstraints.pathLength)
      err('cert.path-length', `${what} allows ${ca.basicConstraints.pathLength} intermediate CA(s) below it, the chain has ${below}`);
    if (ca.notAfter.getTime() <= now.getTime()) err('cert.chain-expired', `${what} expired on ${day(ca.notAfter)}`);
    if (ca.notBefore.getTime() > now.getTime()) err('cert.chain-not-yet-valid', `${what} is not valid until ${day(ca.notBefore)}`);
    const s = keyStrength(ca, what);
    if (s) errors.push(s);
    if (!ca.selfIssued && WEAK_SIGNATURES.has(ca.signatureOid))
      err('cert.weak-signature', `${what} is signed with ${ca.signatureName}; SHA-1 and MD5 signatures are refused by clients`);
  });
  if (!broken) for (const p of nameConstraintProblems(path)) errors.push(p);
  if (leaf.notAfter.getTime() > now.getTime()) {
    const firstIssuerEnd = path.slice(1).reduce<Date | undefined>((m, c) => (!m || c.notAfter < m ? c.notAfter : m), undefined);
    if (firstIssuerEnd && firstIssuerEnd < leaf.notAfter && firstIssuerEnd.getTime() > now.getTime()) {
      warnings.push({ code: 'cert.chain-expires-first', message: `an issuer in the chain expires on ${day(firstIssuerEnd)}, before the certificate itself` });
    }
  }

  // order: intermediates as given vs as the chain runs
  const intermediates = path.slice(1).filter((c) => c !== root);
  const givenOrder = given.filter((c) => intermediates.includes(c));
  if (!broken && givenOrder.some((c, i) => c !== intermediates[i])) {
    notes.push(
      `the chain was out of order; reordered to: ${[leaf, ...intermediates].map((c) => (c.commonName !== undefined ? printable(c.commonName) : c.subject)).join(' <- ')}`,
    );
  }
  return { ok: errors.length === 0, errors, warnings: dedupe(warnings), notes, leaf, intermediates, root };
}

const dedupe = (ps: Problem[]): Problem[] => {
  const seen = new Set<string>();
  return ps.filter((p) => {
    if (seen.has(p.code)) return false;
    seen.add(p.code);
    return true;
  });
};
