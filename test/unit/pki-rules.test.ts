import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { printable } from '../../installer/core/printable.ts';
import { dnsWithin, ipWithin, nameConstraintProblems } from '../../installer/pki/constraints.ts';
import * as der from '../../installer/pki/der.ts';
import { certificateCovers, dnsNameMatches, isPublicSuffix, patternProblem } from '../../installer/pki/hostname.ts';
import { describeCertificate } from '../../installer/pki/import.ts';
import { inspectCertificate, type CertInfo } from '../../installer/pki/inspect.ts';
import { OID } from '../../installer/pki/oids.ts';
import { validateCertificate } from '../../installer/pki/validate.ts';
import { buildCertificate, encodeName, ext, ipBytes, type CertificateSpec } from '../../installer/pki/x509.ts';

/**
 * The certificate rules alone, on certificates built in memory: a unit run
 * catches a PKI regression without openssl (the integration corpus checks the
 * same rules against openssl-made files and `openssl verify`).
 */
const FQDN = 'palisade.lab.internal';
const DAY = 86_400_000;
const now = new Date('2026-12-01T00:00:00Z');
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

interface Made {
  info: CertInfo;
  key: KeyObject;
  name: Buffer;
  spki: Buffer;
}

const ecKey = (): { privateKey: KeyObject; publicKey: KeyObject } => generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

function make(o: Partial<CertificateSpec> & { cn: string; issuer?: Made; keys?: { privateKey: KeyObject; publicKey: KeyObject } }): Made {
  const kp = o.keys ?? ecKey();
  const d = buildCertificate({
    subject: { commonName: o.cn },
    ...(o.issuer ? { issuerName: o.issuer.name, issuerSpki: o.issuer.spki } : {}),
    publicKey: kp.publicKey,
    signingKey: o.issuer?.key ?? kp.privateKey,
    notBefore: o.notBefore ?? new Date(now.getTime() - DAY),
    notAfter: o.notAfter ?? new Date(now.getTime() + 365 * DAY),
    keyUsage: o.keyUsage ?? (o.ca ? ['keyCertSign', 'cRLSign'] : ['digitalSignature']),
    ...(o.ca ? { ca: o.ca } : {}),
    ...(o.extKeyUsage ? { extKeyUsage: o.extKeyUsage } : o.ca ? {} : { extKeyUsage: [SERVER_AUTH] }),
    ...(o.dnsNames ? { dnsNames: o.dnsNames } : {}),
    ...(o.ipAddresses ? { ipAddresses: o.ipAddresses } : {}),
    ...(o.extensions ? { extensions: o.extensions } : {}),
  });
  return {
    info: inspectCertificate(d),
    key: kp.privateKey,
    name: encodeName({ commonName: o.cn }),
    spki: kp.publicKey.export({ type: 'spki', format: 'der' }),
  };
}

/** nameConstraints with dNSName and iPAddress subtrees (RFC 5280 4.2.1.10) */
function nameConstraints(o: { permitted?: string[]; excluded?: string[] }): Buffer {
  const subtree = (s: string): Buffer => {
    const m = /^IP:(.+)\/(.+)$/.exec(s);
    return der.seq(m ? der.implicitPrim(7, Buffer.concat([ipBytes(m[1] as string), ipBytes(m[2] as string)])) : der.implicitPrim(2, Buffer.from(s, 'ascii')));
  };
  const parts: Buffer[] = [];
  if (o.permitted) parts.push(der.tlv(0xa0, o.permitted.map(subtree)));
  if (o.excluded) parts.push(der.tlv(0xa1, o.excluded.map(subtree)));
  return ext(OID.nameConstraints, true, der.seq(...parts));
}

const root = make({ cn: 'Unit Root', ca: {} });
const inter = make({ cn: 'Unit Intermediate', issuer: root, ca: { pathLength: 0 } });

function validate(leaf: Made, chain: Made[] = [inter], o: { fqdn?: string; ca?: Made[] } = {}) {
  return validateCertificate({
    certs: [leaf.info],
    key: leaf.key,
    chain: chain.map((c) => c.info),
    ca: (o.ca ?? [root]).map((c) => c.info),
    fqdn: o.fqdn ?? FQDN,
    now,
  });
}
const codes = (r: ReturnType<typeof validate>): string[] => r.errors.map((e) => e.code);

describe('RFC 6125 name matching', () => {
  it.each([
    ['*.example.com', 'a.example.com', true],
    ['*.example.com', 'A.EXAMPLE.COM.', true],
    ['*.example.com', 'example.com', false],
    ['*.example.com', 'a.b.example.com', false],
    ['a*.example.com', 'ab.example.com', false],
    ['a.*.example.com', 'a.b.example.com', false],
    ['*.com', 'example.com', false],
    ['*.co.uk', 'example.co.uk', false],
    ['*.internal', 'lab.internal', false],
    ['*.example.co.uk', 'www.example.co.uk', true],
    ['*.lab.internal', 'palisade.lab.internal', true],
    ['*.example.com', '10.0.0.1', false],
    ['example.com', 'example.com', true],
    ['example.com', 'example.com.evil', false],
  ])('%s vs %s → %s', (pattern, host, want) => {
    expect(dnsNameMatches(pattern, host)).toBe(want);
  });

  it('wildcards directly under a public suffix come from the Public Suffix List, not a label count', () => {
    expect(isPublicSuffix('co.uk')).toBe(true);
    expect(isPublicSuffix('com')).toBe(true);
    expect(isPublicSuffix('ac.jp')).toBe(true);
    expect(isPublicSuffix('example.co.uk')).toBe(false);
    expect(isPublicSuffix('lab.internal')).toBe(false);
    expect(patternProblem('*.co.uk')).toBe('wildcard-too-broad');
    expect(patternProblem('*.com.au')).toBe('wildcard-too-broad');
    expect(patternProblem('*.example.com.au')).toBeUndefined();
    expect(certificateCovers({ dns: ['*.co.uk'], ip: [] }, undefined, 'palisade.co.uk').reason).toMatch(/directly under the public suffix co\.uk/);
  });

  it('IP addresses match IP SANs only, in any notation', () => {
    expect(certificateCovers({ dns: ['10.0.0.1'], ip: [] }, undefined, '10.0.0.1').ok).toBe(false);
    expect(certificateCovers({ dns: [], ip: ['10.0.0.1'] }, undefined, '10.0.0.1').ok).toBe(true);
    expect(certificateCovers({ dns: [], ip: ['fd00:0:0:0:0:0:0:1'] }, undefined, 'fd00::1').ok).toBe(true);
  });

  it('the CN is no fallback when there are SANs, and none at all without them', () => {
    expect(certificateCovers({ dns: ['other.lab.internal'], ip: [] }, FQDN, FQDN).reason).toMatch(/CN is ignored/);
    expect(certificateCovers(undefined, FQDN, FQDN).ok).toBe(false);
  });
});

describe('certificate rules', () => {
  it('a good leaf under its intermediate and root is accepted without warnings', () => {
    const r = validate(make({ cn: 'good', issuer: inter, dnsNames: [FQDN] }));
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.intermediates.map((c) => c.commonName)).toEqual(['Unit Intermediate']);
  });

  it('each broken rule gets its own refusal', () => {
    const kp = ecKey();
    const cases: Array<[string, Made, string, Made[]?]> = [
      ['name', make({ cn: 'n', issuer: inter, dnsNames: ['other.lab.internal'] }), 'cert.name-mismatch'],
      [
        'expired',
        make({ cn: 'e', issuer: inter, dnsNames: [FQDN], notBefore: new Date(now.getTime() - 90 * DAY), notAfter: new Date(now.getTime() - DAY) }),
        'cert.expired',
      ],
      [
        'not yet valid',
        make({ cn: 'f', issuer: inter, dnsNames: [FQDN], notBefore: new Date(now.getTime() + DAY), notAfter: new Date(now.getTime() + 90 * DAY) }),
        'cert.not-yet-valid',
      ],
      ['client EKU only', make({ cn: 'c', issuer: inter, dnsNames: [FQDN], extKeyUsage: [CLIENT_AUTH] }), 'cert.eku'],
      ['CA as leaf', make({ cn: 'ca', issuer: inter, dnsNames: [FQDN], ca: {} }), 'cert.ca-as-leaf'],
      ['key usage', make({ cn: 'ku', issuer: inter, dnsNames: [FQDN], keyUsage: ['keyAgreement'] }), 'cert.key-usage'],
      [
        'weak RSA',
        make({
          cn: 'rsa',
          issuer: inter,
          dnsNames: [FQDN],
          keys: generateKeyPairSync('rsa', { modulusLength: 1024 }),
          keyUsage: ['digitalSignature', 'keyEncipherment'],
        }),
        'cert.weak-key',
      ],
      // an intermediate of the same name with another key: the chain does not verify
      ['impostor', make({ cn: 'i', issuer: { ...inter, key: kp.privateKey }, dnsNames: [FQDN] }), 'cert.chain-signature'],
      ['missing intermediate', make({ cn: 'm', issuer: inter, dnsNames: [FQDN] }), 'cert.chain-incomplete', []],
    ];
    for (const [what, leaf, code, chain] of cases) expect(codes(validate(leaf, chain ?? [inter])), what).toContain(code);
    const low = make({ cn: 'Low CA', issuer: inter, ca: { pathLength: 0 } });
    expect(codes(validate(make({ cn: 'p', issuer: low, dnsNames: [FQDN] }), [inter, low]))).toContain('cert.path-length');
  });

  it('a key that does not belong to the certificate is refused', () => {
    const leaf = make({ cn: 'k', issuer: inter, dnsNames: [FQDN] });
    const r = validateCertificate({ certs: [leaf.info], key: ecKey().privateKey, chain: [inter.info], ca: [root.info], fqdn: FQDN, now });
    expect(codes(r)).toContain('cert.key-mismatch');
  });
});

describe('name constraints in the chain', () => {
  it('subtree matching: "" is everything, a leading dot means below only, otherwise the name and below', () => {
    expect(dnsWithin('a.lab.internal', 'lab.internal')).toBe(true);
    expect(dnsWithin('lab.internal', 'lab.internal')).toBe(true);
    expect(dnsWithin('LAB.internal.', 'lab.internal')).toBe(true);
    expect(dnsWithin('evillab.internal', 'lab.internal')).toBe(false);
    expect(dnsWithin('lab.internal', '.lab.internal')).toBe(false);
    expect(dnsWithin('a.lab.internal', '.lab.internal')).toBe(true);
    expect(dnsWithin('anything.example', '')).toBe(true);
    expect(ipWithin(ipBytes('10.231.0.9'), { address: ipBytes('10.231.0.0'), mask: ipBytes('255.255.255.0') })).toBe(true);
    expect(ipWithin(ipBytes('10.231.1.9'), { address: ipBytes('10.231.0.0'), mask: ipBytes('255.255.255.0') })).toBe(false);
    expect(ipWithin(ipBytes('fd00::1'), { address: ipBytes('10.231.0.0'), mask: ipBytes('255.255.255.0') })).toBe(false);
  });

  it('a leaf under an intermediate that excludes its domain is refused ("excluded subtree violation")', () => {
    const ncInter = make({ cn: 'No Lab', issuer: root, ca: { pathLength: 0 }, extensions: [nameConstraints({ excluded: ['lab.internal'] })] });
    const r = validate(make({ cn: 'x', issuer: ncInter, dnsNames: [FQDN] }), [ncInter]);
    expect(codes(r)).toEqual(['cert.name-constraints']);
    expect(r.errors[0]?.message).toMatch(/excluded subtree violation: DNS:palisade\.lab\.internal .*DNS:lab\.internal.*No Lab/);
  });

  it('permitted subtrees bind every name of that form; other forms are free', () => {
    const ncInter = make({ cn: 'Example Only', issuer: root, ca: { pathLength: 0 }, extensions: [nameConstraints({ permitted: ['example.com'] })] });
    expect(codes(validate(make({ cn: 'x', issuer: ncInter, dnsNames: [FQDN] }), [ncInter]))).toEqual(['cert.name-constraints']);
    // one name inside, one outside: still refused
    expect(codes(validate(make({ cn: 'y', issuer: ncInter, dnsNames: ['www.example.com', FQDN] }), [ncInter]))).toContain('cert.name-constraints');
    // no IP subtrees: an IP SAN is not bound by DNS-only constraints
    const inside = make({ cn: 'z', issuer: ncInter, dnsNames: ['palisade.example.com'], ipAddresses: ['10.231.0.100'] });
    expect(validate(inside, [ncInter], { fqdn: 'palisade.example.com' }).errors).toEqual([]);
  });

  it('IP subtrees and constraints on the root bind the whole chain below', () => {
    const ncRoot = make({ cn: 'Constrained Root', ca: {}, extensions: [nameConstraints({ excluded: ['IP:10.231.0.0/255.255.255.0'] })] });
    const mid = make({ cn: 'Mid', issuer: ncRoot, ca: { pathLength: 0 } });
    const leaf = make({ cn: 'ip', issuer: mid, dnsNames: [FQDN], ipAddresses: ['10.231.0.100'] });
    const r = validate(leaf, [mid], { ca: [ncRoot] });
    expect(r.errors.map((e) => e.message).join('\n')).toMatch(/excluded subtree violation: IP:10\.231\.0\.100 .*the root CN=Constrained Root/);
    expect(nameConstraintProblems([leaf.info, mid.info])).toEqual([]);
  });
});

describe('certificate text reaches the terminal escaped', () => {
  it('escape sequences, NUL and bidi overrides in names are shown as visible escapes', () => {
    const evil = 'evil\u001b[2J\u001b]0;owned\u0007\u0000\u202ename';
    const leaf = make({ cn: evil, issuer: inter, dnsNames: [FQDN, `x\u001b[31m.lab.internal`] });
    const r = validate(leaf);
    const text = describeCertificate(r, now);
    // nothing but the line breaks between fields
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
    expect(text).toContain('CN=evil\\x1b[2J\\x1b]0;owned\\x07\\x00\\u202ename');
    expect(text).toContain('DNS:x\\x1b[31m.lab.internal');
    const mismatch = validate(make({ cn: evil, issuer: inter, dnsNames: [`y\u001b[31m.lab.internal`] }));
    expect(mismatch.errors.map((e) => e.message).join('\n')).not.toMatch(/[\u0000-\u001f]/);
  });

  it('printable leaves ordinary text, including non-ASCII letters, as it is', () => {
    expect(printable('CN=Zürich Büro, O=ACME')).toBe('CN=Zürich Büro, O=ACME');
    expect(printable('a\\b')).toBe('a\\\\b');
  });
});
