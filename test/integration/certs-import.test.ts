import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkCertificateFiles, describeCertificate, type ImportFiles } from '../../installer/pki/import.ts';
import { CA_EXT, OpensslLab, SERVER_EXT } from '../fixtures/pki/corpus.ts';

const FQDN = 'palisade.lab.internal';
const lab = new OpensslLab();
const P = (n: string) => lab.p(n);
const past = '2020-01-01 00:00:00';
const future = `${new Date().getUTCFullYear() + 2}-01-01 00:00:00`;

beforeAll(() => {
  // CA A: root -> intermediate -> leaves; CA B: another root
  lab.issue('rootA', { subject: '/O=Test/CN=Test Root A', ext: CA_EXT(), days: 3650 });
  lab.issue('interA', { subject: '/O=Test/CN=Test Intermediate A', issuer: 'rootA', ext: CA_EXT(0), days: 1825 });
  lab.issue('rootB', { subject: '/O=Test/CN=Test Root B', ext: CA_EXT(), days: 3650 });
  // an impostor: same name as interA, different key, also signed by rootA
  lab.issue('interA-impostor', { subject: '/O=Test/CN=Test Intermediate A', issuer: 'rootA', ext: CA_EXT(0), days: 1825 });
  // a two-level chain: rootA -> mid (pathlen 1) -> low (pathlen 0)
  lab.issue('mid', { subject: '/O=Test/CN=Test Mid', issuer: 'rootA', ext: CA_EXT(1), days: 1825 });
  lab.issue('low', { subject: '/O=Test/CN=Test Low', issuer: 'mid', ext: CA_EXT(0), days: 1825 });
  lab.issue('interExpired', { subject: '/O=Test/CN=Old Intermediate', issuer: 'rootA', ext: CA_EXT(0), days: 30, faketime: past });
  lab.issue('notCa', { subject: '/CN=not a CA', issuer: 'rootA', ext: SERVER_EXT('DNS:not-a-ca.example') });
  lab.write('chainA.pem', readFileSync(P('interA.pem')));
  lab.cat('chainA-root.pem', 'interA.pem', 'rootA.pem');
}, 120_000);

const san = `DNS:${FQDN}`;
const files = (name: string, extra: Partial<ImportFiles> = {}): ImportFiles => ({ cert: P(`${name}.pem`), key: P(`${name}.key`), fqdn: FQDN, ...extra });
const check = (f: ImportFiles) => checkCertificateFiles(f);
const codes = async (f: ImportFiles) => {
  try {
    const r = await check(f);
    return {
      errors: r.report.errors.map((e) => e.code),
      messages: r.report.errors.map((e) => e.message).join('\n'),
      warnings: r.report.warnings.map((w) => w.code),
      notes: r.report.notes,
    };
  } catch (e) {
    const err = e as { code?: string; message: string };
    return { errors: [err.code ?? 'thrown'], messages: err.message, warnings: [], notes: [] as string[] };
  }
};

/** every bad case: how it is made, and the refusal it must get (code + words of the message) */
const BAD: Array<{ name: string; make: () => ImportFiles; code: string; says: RegExp }> = [
  {
    name: 'key does not match the certificate',
    make: () => {
      lab.issue('m1', { issuer: 'interA', ext: SERVER_EXT(san) });
      lab.key('m1-other');
      return { cert: P('m1.pem'), key: P('m1-other.key'), chain: P('chainA.pem'), fqdn: FQDN };
    },
    code: 'cert.key-mismatch',
    says: /private key does not match the certificate/,
  },
  {
    name: 'SAN names another host',
    make: () => (lab.issue('b2', { issuer: 'interA', ext: SERVER_EXT('DNS:other.lab.internal') }), files('b2', { chain: P('chainA.pem') })),
    code: 'cert.name-mismatch',
    says: /\(DNS:other\.lab\.internal\) do not cover palisade\.lab\.internal/,
  },
  {
    name: 'wildcard does not cover the bare domain',
    make: () => (lab.issue('b3', { issuer: 'interA', ext: SERVER_EXT(`DNS:*.${FQDN}`) }), files('b3', { chain: P('chainA.pem') })),
    code: 'cert.name-mismatch',
    says: /\*\.palisade\.lab\.internal does not cover palisade\.lab\.internal itself/,
  },
  {
    name: 'wildcard covers one label only',
    make: () => (
      lab.issue('b4', { issuer: 'interA', ext: SERVER_EXT('DNS:*.internal.example') }), files('b4', { chain: P('chainA.pem'), fqdn: 'a.b.internal.example' })
    ),
    code: 'cert.name-mismatch',
    says: /covers one label only, not a\.b\.internal\.example/,
  },
  {
    name: 'partial wildcard',
    make: () => (lab.issue('b5', { issuer: 'interA', ext: SERVER_EXT('DNS:pali*.lab.internal') }), files('b5', { chain: P('chainA.pem') })),
    code: 'cert.name-mismatch',
    says: /partial wildcard/,
  },
  {
    name: 'wildcard outside the leftmost label',
    make: () => (lab.issue('b6', { issuer: 'interA', ext: SERVER_EXT('DNS:palisade.*.internal') }), files('b6', { chain: P('chainA.pem') })),
    code: 'cert.name-mismatch',
    says: /wildcard outside the leftmost label/,
  },
  {
    name: 'wildcard over a top-level domain',
    make: () => (lab.issue('b7', { issuer: 'interA', ext: SERVER_EXT('DNS:*.internal') }), files('b7', { chain: P('chainA.pem'), fqdn: 'lab.internal' })),
    code: 'cert.name-mismatch',
    says: /wildcard directly under the public suffix internal/,
  },
  {
    name: 'CN matches but the SANs do not (no CN fallback)',
    make: () => (
      lab.issue('b8', { subject: `/CN=${FQDN}`, issuer: 'interA', ext: SERVER_EXT('DNS:other.lab.internal') }), files('b8', { chain: P('chainA.pem') })
    ),
    code: 'cert.name-mismatch',
    says: /CN is ignored when the certificate has subjectAltNames/,
  },
  {
    name: 'no subjectAltName at all (CN only)',
    make: () => (lab.issue('b9', { subject: `/CN=${FQDN}`, issuer: 'interA', ext: SERVER_EXT('') }), files('b9', { chain: P('chainA.pem') })),
    code: 'cert.name-mismatch',
    says: /has no subjectAltName \(only the subject CN palisade\.lab\.internal\)/,
  },
  {
    name: 'IP SAN only, FQDN is a name',
    make: () => (lab.issue('b10', { issuer: 'interA', ext: SERVER_EXT('IP:10.231.0.100') }), files('b10', { chain: P('chainA.pem') })),
    code: 'cert.name-mismatch',
    says: /IP:10\.231\.0\.100\) do not cover/,
  },
  {
    name: 'expired',
    make: () => (lab.issue('b11', { issuer: 'interA', ext: SERVER_EXT(san), days: 30, faketime: past }), files('b11', { chain: P('chainA.pem') })),
    code: 'cert.expired',
    says: /expired on 2020-01-31/,
  },
  {
    name: 'not yet valid',
    make: () => (lab.issue('b12', { issuer: 'interA', ext: SERVER_EXT(san), faketime: future }), files('b12', { chain: P('chainA.pem') })),
    code: 'cert.not-yet-valid',
    says: /not valid yet: it is valid from \d{4}-01-01/,
  },
  {
    name: 'chain does not verify (an intermediate of the same name, another key)',
    make: () => (lab.issue('b13', { issuer: 'interA', ext: SERVER_EXT(san) }), files('b13', { chain: P('interA-impostor.pem') })),
    code: 'cert.chain-signature',
    says: /signature does not verify with the key of the CN=Test Intermediate A, O=Test certificate given/,
  },
  {
    name: 'missing intermediate (CA given)',
    make: () => (lab.issue('b14', { issuer: 'interA', ext: SERVER_EXT(san) }), files('b14', { ca: P('rootA.pem') })),
    code: 'cert.chain-incomplete',
    says: /missing intermediate: no certificate for CN=Test Intermediate A, O=Test/,
  },
  {
    name: 'missing intermediate (the chain holds something else)',
    make: () => (lab.issue('b15', { issuer: 'low', ext: SERVER_EXT(san) }), files('b15', { chain: P('mid.pem') })),
    code: 'cert.chain-incomplete',
    says: /missing intermediate: no certificate for CN=Test Low, O=Test.*the chain holds CN=Test Mid/,
  },
  {
    name: 'chain reaches another root than the CA given',
    make: () => (lab.issue('b16', { issuer: 'interA', ext: SERVER_EXT(san) }), files('b16', { chain: P('chainA-root.pem'), ca: P('rootB.pem') })),
    code: 'cert.untrusted-root',
    says: /ends at the root CN=Test Root A, O=Test, which is not the CA given with --ca \(CN=Test Root B/,
  },
  {
    name: 'EKU without serverAuth',
    make: () => (lab.issue('b17', { issuer: 'interA', ext: SERVER_EXT(san, { eku: 'clientAuth' }) }), files('b17', { chain: P('chainA.pem') })),
    code: 'cert.eku',
    says: /does not include serverAuth.*allows only clientAuth/,
  },
  {
    name: 'RSA key under 2048 bits',
    make: () => (lab.issue('b18', { keySpec: 'rsa:1024', issuer: 'interA', ext: SERVER_EXT(san) }), files('b18', { chain: P('chainA.pem') })),
    code: 'cert.weak-key',
    says: /1024-bit RSA key; at least 2048 bits are required/,
  },
  {
    name: 'weak curve (P-224)',
    make: () => (
      lab.issue('b19', { keySpec: 'ec:secp224r1', issuer: 'interA', ext: SERVER_EXT(san, { ku: 'digitalSignature' }) }),
      files('b19', { chain: P('chainA.pem') })
    ),
    code: 'cert.weak-curve',
    says: /curve P-224; only P-256, P-384 and P-521/,
  },
  {
    name: 'non-NIST curve (secp256k1)',
    make: () => (
      lab.issue('b19k', { keySpec: 'ec:secp256k1', issuer: 'interA', ext: SERVER_EXT(san, { ku: 'digitalSignature' }) }),
      files('b19k', { chain: P('chainA.pem') })
    ),
    code: 'cert.weak-curve',
    says: /secp256k1/,
  },
  {
    name: 'SHA-1 signature',
    make: () => (lab.issue('b20', { issuer: 'interA', ext: SERVER_EXT(san), digest: 'sha1' }), files('b20', { chain: P('chainA.pem') })),
    code: 'cert.weak-signature',
    says: /signed with ecdsa-with-SHA1/,
  },
  {
    name: 'a CA certificate as the leaf',
    make: () => (
      lab.issue('b21', { issuer: 'rootA', ext: SERVER_EXT(san, { ca: true, ku: 'digitalSignature,keyCertSign' }) }), files('b21', { ca: P('rootA.pem') })
    ),
    code: 'cert.ca-as-leaf',
    says: /is a CA certificate \(basicConstraints CA:TRUE\)/,
  },
  {
    name: 'key usage without digitalSignature',
    make: () => (lab.issue('b22', { issuer: 'interA', ext: SERVER_EXT(san, { ku: 'keyAgreement' }) }), files('b22', { chain: P('chainA.pem') })),
    code: 'cert.key-usage',
    says: /key usage \(keyAgreement\) does not allow TLS server authentication/,
  },
  {
    name: 'issued by a certificate that is not a CA',
    make: () => (lab.issue('b23', { issuer: 'notCa', ext: SERVER_EXT(san) }), files('b23', { chain: P('notCa.pem') })),
    code: 'cert.issuer-not-ca',
    says: /not a CA certificate \(no basicConstraints CA:TRUE\)/,
  },
  {
    name: 'expired intermediate',
    make: () => (
      lab.issue('b24', { issuer: 'interExpired', ext: SERVER_EXT(san), days: 3650, faketime: '2020-01-02 00:00:00' }),
      files('b24', { chain: P('interExpired.pem') })
    ),
    code: 'cert.chain-expired',
    says: /intermediate CN=Old Intermediate.*expired on 2020-01-31/,
  },
  {
    name: 'path length exceeded (pathlen:0 CA issuing a CA)',
    make: () => {
      lab.issue('sub0', { subject: '/CN=Sub under interA', issuer: 'interA', ext: CA_EXT(0) });
      lab.issue('b25', { issuer: 'sub0', ext: SERVER_EXT(san) });
      lab.cat('b25-chain.pem', 'sub0.pem', 'interA.pem');
      return files('b25', { chain: P('b25-chain.pem'), ca: P('rootA.pem') });
    },
    code: 'cert.path-length',
    says: /allows 0 intermediate CA\(s\) below it, the chain has 1/,
  },
  {
    name: 'encrypted key, no passphrase',
    make: () => {
      lab.issue('b26', { issuer: 'interA', ext: SERVER_EXT(san) });
      lab.run(['pkcs8', '-topk8', '-in', 'b26.key', '-out', 'b26-enc.key', '-passout', 'pass:key secret 1']);
      return { cert: P('b26.pem'), key: P('b26-enc.key'), chain: P('chainA.pem'), fqdn: FQDN };
    },
    code: 'cert.key-encrypted',
    says: /is encrypted and no passphrase was given/,
  },
  {
    name: 'encrypted key, wrong passphrase',
    make: () => ({ cert: P('b26.pem'), key: P('b26-enc.key'), chain: P('chainA.pem'), keyPassphraseFile: lab.write('wrong.pass', 'not it\n'), fqdn: FQDN }),
    code: 'cert.key-passphrase',
    says: /cannot decrypt the private key .*: wrong passphrase/,
  },
  {
    name: 'a key file given as the certificate',
    make: () => ({ cert: P('b26.key'), key: P('b26.key'), fqdn: FQDN }),
    code: 'cert.unreadable',
    says: /holds no certificate \(it holds: PRIVATE KEY\)/,
  },
  {
    name: 'garbage instead of a certificate',
    make: () => ({ cert: lab.write('garbage.der', Buffer.from('this is not DER at all')), key: P('b26.key'), fqdn: FQDN }),
    code: 'cert.unreadable',
    says: /is not a readable X\.509 certificate/,
  },
  {
    name: 'PKCS#12 with the wrong passphrase',
    make: () => {
      lab.issue('b28', { issuer: 'interA', ext: SERVER_EXT(san) });
      lab.run(['pkcs12', '-export', '-inkey', 'b28.key', '-in', 'b28.pem', '-certfile', 'interA.pem', '-passout', 'pass:p12 secret', '-out', 'b28.p12']);
      return { p12: P('b28.p12'), keyPassphraseFile: lab.write('wrong2.pass', 'nope'), fqdn: FQDN };
    },
    code: 'cert.p12-passphrase',
    says: /wrong passphrase/,
  },
  {
    name: 'PKCS#12 asking for an unbounded key-derivation cost (refused before deriving anything)',
    make: () => {
      lab.issue('b28c', { issuer: 'interA', ext: SERVER_EXT(san) });
      lab.run([
        'pkcs12',
        '-export',
        '-iter',
        '1500000',
        '-inkey',
        'b28c.key',
        '-in',
        'b28c.pem',
        '-certfile',
        'interA.pem',
        '-passout',
        'pass:p12 secret',
        '-out',
        'b28c.p12',
      ]);
      return { p12: P('b28c.p12'), keyPassphraseFile: lab.write('right.pass', 'p12 secret\n'), fqdn: FQDN };
    },
    code: 'cert.p12-cost',
    says: /1500000 key-derivation iterations; palisade accepts at most 600000/,
  },
  {
    name: 'self-signed leaf when a CA is required by --ca',
    make: () => (lab.issue('b29', { ext: SERVER_EXT(san) }), files('b29', { ca: P('rootA.pem') })),
    code: 'cert.untrusted-root',
    says: /self-signed and not issued by the CA given/,
  },
  {
    name: 'wildcard directly under a two-label public suffix (*.co.uk)',
    make: () => (lab.issue('b30', { issuer: 'interA', ext: SERVER_EXT('DNS:*.co.uk') }), files('b30', { chain: P('chainA.pem'), fqdn: 'palisade.co.uk' })),
    code: 'cert.name-mismatch',
    says: /\*\.co\.uk is a wildcard directly under the public suffix co\.uk/,
  },
  {
    name: "name excluded by the intermediate's name constraints",
    make: () => {
      lab.issue('ncExcl', {
        subject: '/O=Test/CN=Constrained Intermediate',
        issuer: 'rootA',
        ext: [...CA_EXT(0), 'nameConstraints=critical,excluded;DNS:lab.internal'],
        days: 1825,
      });
      lab.issue('b31', { issuer: 'ncExcl', ext: SERVER_EXT(san) });
      return files('b31', { chain: P('ncExcl.pem'), ca: P('rootA.pem') });
    },
    code: 'cert.name-constraints',
    says: /excluded subtree violation: DNS:palisade\.lab\.internal .* excluded by DNS:lab\.internal/,
  },
  {
    name: 'name outside the permitted subtrees of the intermediate',
    make: () => {
      lab.issue('ncPerm', {
        subject: '/O=Test/CN=Example-only Intermediate',
        issuer: 'rootA',
        ext: [...CA_EXT(0), 'nameConstraints=critical,permitted;DNS:example.com'],
        days: 1825,
      });
      lab.issue('b32', { issuer: 'ncPerm', ext: SERVER_EXT(san) });
      return files('b32', { chain: P('ncPerm.pem'), ca: P('rootA.pem') });
    },
    code: 'cert.name-constraints',
    says: /permitted subtree violation: DNS:palisade\.lab\.internal .* outside DNS:example\.com/,
  },
  {
    name: 'IP SAN inside an excluded range of the intermediate',
    make: () => {
      lab.issue('ncIp', {
        subject: '/O=Test/CN=No-lab-IPs Intermediate',
        issuer: 'rootA',
        ext: [...CA_EXT(0), 'nameConstraints=critical,excluded;IP:10.231.0.0/255.255.255.0'],
        days: 1825,
      });
      lab.issue('b33', { issuer: 'ncIp', ext: SERVER_EXT(`${san},IP:10.231.0.100`) });
      return files('b33', { chain: P('ncIp.pem'), ca: P('rootA.pem') });
    },
    code: 'cert.name-constraints',
    says: /excluded subtree violation: IP:10\.231\.0\.100/,
  },
];

const made = new Map<string, ImportFiles>();

describe('certificate import refuses, each with a precise reason', () => {
  it(`the corpus has at least 20 bad cases (${BAD.length})`, () => {
    expect(BAD.length).toBeGreaterThanOrEqual(20);
  });
  for (const c of BAD) {
    it(c.name, async () => {
      const f = c.make();
      made.set(c.name, f);
      const r = await codes(f);
      expect(r.errors).toContain(c.code);
      expect(r.messages).toMatch(c.says);
    });
  }
});

/** the refusals openssl itself can judge (names, dates, chain, purpose): `openssl verify` refuses them too */
const OPENSSL_AGREES = [
  'SAN names another host',
  'wildcard does not cover the bare domain',
  'wildcard covers one label only',
  'CN matches but the SANs do not (no CN fallback)',
  'expired',
  'not yet valid',
  'chain does not verify (an intermediate of the same name, another key)',
  'missing intermediate (CA given)',
  'chain reaches another root than the CA given',
  'EKU without serverAuth',
  'issued by a certificate that is not a CA',
  'expired intermediate',
  'path length exceeded (pathlen:0 CA issuing a CA)',
  "name excluded by the intermediate's name constraints",
  'name outside the permitted subtrees of the intermediate',
  'IP SAN inside an excluded range of the intermediate',
];

describe('openssl agrees', () => {
  it.each(OPENSSL_AGREES)('openssl verify -purpose sslserver -verify_hostname also refuses: %s', (name) => {
    const f = made.get(name);
    expect(f, 'the refusal case ran first').toBeDefined();
    const ca = f!.ca ?? P('rootA.pem');
    const args = ['verify', '-purpose', 'sslserver', '-verify_hostname', f!.fqdn, '-CAfile', ca, ...(f!.chain ? ['-untrusted', f!.chain] : []), f!.cert!];
    let out = '';
    try {
      execFileSync('openssl', args, { stdio: 'pipe' });
    } catch (e) {
      out = String((e as { stdout?: Buffer }).stdout ?? '') + String((e as { stderr?: Buffer }).stderr ?? '');
    }
    // a verification verdict, not a file openssl could not load
    expect(out).toMatch(/error \d+ at \d+ depth lookup: /);
  });
});

/** a good certificate is also one openssl accepts for the FQDN */
function opensslAccepts(leaf: string, chain: string[], root: string) {
  const untrusted = chain.length ? ['-untrusted', lab.cat(`u-${Math.random().toString(36).slice(2)}.pem`, ...chain)] : [];
  return execFileSync('openssl', ['verify', '-purpose', 'sslserver', '-verify_hostname', FQDN, '-CAfile', root, ...untrusted, leaf], { encoding: 'utf8' });
}

describe('certificate import accepts good certificates', () => {
  it('ECDSA P-256 with its intermediate and the CA (no warnings)', async () => {
    lab.issue('g1', { issuer: 'interA', ext: SERVER_EXT(san, { ku: 'digitalSignature' }) });
    const r = await codes(files('g1', { chain: P('chainA.pem'), ca: P('rootA.pem') }));
    expect(r).toMatchObject({ errors: [], warnings: [], notes: [] });
    expect(opensslAccepts(P('g1.pem'), [P('interA.pem')], P('rootA.pem'))).toMatch(/OK/);
    const full = await check(files('g1', { chain: P('chainA.pem'), ca: P('rootA.pem') }));
    const text = describeCertificate(full.report);
    expect(text).toMatch(
      /subject: +CN=g1\nnames: +DNS:palisade\.lab\.internal\nkey: +ECDSA P-256, signed with ecdsa-with-SHA256\nissuer: +CN=Test Intermediate A, O=Test\n +<- CN=Test Intermediate A, O=Test \(intermediate, until .*\)\n +<- CN=Test Root A, O=Test \(root/,
    );
    expect(text).toMatch(/days left/);
  });

  it('a name inside the permitted subtrees of a constrained intermediate (openssl agrees)', async () => {
    lab.issue('ncOk', {
      subject: '/O=Test/CN=Lab-only Intermediate',
      issuer: 'rootA',
      ext: [...CA_EXT(0), 'nameConstraints=critical,permitted;DNS:lab.internal,permitted;IP:10.231.0.0/255.255.255.0,excluded;DNS:other.lab.internal'],
      days: 1825,
    });
    lab.issue('g-nc', { issuer: 'ncOk', ext: SERVER_EXT(`${san},IP:10.231.0.100`) });
    const r = await codes(files('g-nc', { chain: P('ncOk.pem'), ca: P('rootA.pem') }));
    expect(r.errors).toEqual([]);
    expect(opensslAccepts(P('g-nc.pem'), [P('ncOk.pem')], P('rootA.pem'))).toMatch(/OK/);
  });

  it('RSA 2048 with the root inside the chain file (counts as the CA)', async () => {
    lab.issue('g2', { keySpec: 'rsa:2048', issuer: 'interA', ext: SERVER_EXT(san) });
    expect(await codes(files('g2', { chain: P('chainA-root.pem') }))).toMatchObject({ errors: [], warnings: [] });
  });

  it('a wildcard covering the FQDN', async () => {
    lab.issue('g3', { issuer: 'interA', ext: SERVER_EXT('DNS:*.lab.internal') });
    expect(await codes(files('g3', { chain: P('chainA.pem'), ca: P('rootA.pem') }))).toMatchObject({ errors: [], warnings: [] });
    expect(opensslAccepts(P('g3.pem'), [P('interA.pem')], P('rootA.pem'))).toMatch(/OK/);
  });

  it('no chain and no CA: accepted with a warning', async () => {
    lab.issue('g4', { issuer: 'interA', ext: SERVER_EXT(san) });
    const r = await codes(files('g4'));
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual(['cert.no-ca']);
  });

  it('an out-of-order chain is reordered, and says so', async () => {
    lab.issue('g5', { issuer: 'low', ext: SERVER_EXT(san) });
    lab.cat('g5-chain.pem', 'mid.pem', 'low.pem');
    const r = await codes(files('g5', { chain: P('g5-chain.pem'), ca: P('rootA.pem') }));
    expect(r.errors).toEqual([]);
    expect(r.notes.join('\n')).toMatch(/out of order; reordered to: g5 <- Test Low <- Test Mid/);
    const full = await check(files('g5', { chain: P('g5-chain.pem'), ca: P('rootA.pem') }));
    expect(full.report.intermediates.map((c) => c.commonName)).toEqual(['Test Low', 'Test Mid']);
  });

  it('expiring within 30 days: accepted with a warning', async () => {
    lab.issue('g6', { issuer: 'interA', ext: SERVER_EXT(san), days: 10 });
    const r = await codes(files('g6', { chain: P('chainA.pem'), ca: P('rootA.pem') }));
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual(['cert.expires-soon']);
  });

  it('CRLF PEM files; certificate file holding leaf and chain (fullchain.pem); P-384', async () => {
    lab.issue('g7', { keySpec: 'ec:P-384', issuer: 'interA', ext: SERVER_EXT(san, { ku: 'digitalSignature' }) });
    const crlf = (f: string) => lab.write(`${f}.crlf`, lab.read(f).toString('latin1').replace(/\n/g, '\r\n'));
    lab.cat('g7-full.pem', 'g7.pem', 'interA.pem');
    const r = await check({ cert: crlf('g7-full.pem'), key: crlf('g7.key'), ca: P('rootA.pem'), fqdn: FQDN });
    expect(r.report.errors).toEqual([]);
    expect(r.report.intermediates.map((c) => c.commonName)).toEqual(['Test Intermediate A']);
    // leaf after its issuer in the same file: still found by its key
    lab.cat('g7-rev.pem', 'interA.pem', 'g7.pem');
    const rev = await check({ cert: P('g7-rev.pem'), key: P('g7.key'), ca: P('rootA.pem'), fqdn: FQDN });
    expect(rev.report.errors).toEqual([]);
    expect(rev.report.notes.join()).toMatch(/did not start with the server certificate/);
  });

  it('DER certificate and DER PKCS#8 key; PKCS#1 and SEC1 PEM keys; encrypted PKCS#8 and legacy-encrypted PEM with a passphrase', async () => {
    lab.issue('g8', { keySpec: 'rsa:2048', issuer: 'interA', ext: SERVER_EXT(san) });
    lab.run(['x509', '-in', 'g8.pem', '-outform', 'DER', '-out', 'g8.der']);
    lab.run(['pkcs8', '-topk8', '-nocrypt', '-in', 'g8.key', '-outform', 'DER', '-out', 'g8.key.der']);
    lab.run(['rsa', '-in', 'g8.key', '-traditional', '-out', 'g8.pkcs1']);
    expect(lab.read('g8.pkcs1').toString()).toMatch(/BEGIN RSA PRIVATE KEY/);
    lab.run(['rsa', '-in', 'g8.key', '-traditional', '-aes256', '-passout', 'pass:legacy secret', '-out', 'g8.legacy']);
    expect(lab.read('g8.legacy').toString()).toMatch(/Proc-Type: 4,ENCRYPTED/);
    lab.run(['pkcs8', '-topk8', '-in', 'g8.key', '-passout', 'pass:pkcs8 secret', '-outform', 'DER', '-out', 'g8.enc.der']);
    const ok = async (f: Omit<ImportFiles, 'fqdn'>) =>
      expect((await check({ chain: P('chainA.pem'), ca: P('rootA.pem'), fqdn: FQDN, ...f })).report.errors).toEqual([]);
    await ok({ cert: P('g8.der'), key: P('g8.key.der') });
    await ok({ cert: P('g8.pem'), key: P('g8.pkcs1') });
    await ok({ cert: P('g8.pem'), key: P('g8.legacy'), keyPassphraseFile: lab.write('legacy.pass', 'legacy secret\n') });
    await ok({ cert: P('g8.pem'), key: P('g8.enc.der'), keyPassphraseFile: lab.write('pk8.pass', 'pkcs8 secret') });
    lab.issue('g8e', { issuer: 'interA', ext: SERVER_EXT(san) });
    lab.run(['ec', '-in', 'g8e.key', '-out', 'g8e.sec1']);
    expect(lab.read('g8e.sec1').toString()).toMatch(/BEGIN EC PRIVATE KEY/);
    await ok({ cert: P('g8e.pem'), key: P('g8e.sec1') });
  });

  it('PKCS#12 (OpenSSL 3 defaults: PBES2/AES-256, SHA-256 MAC), EC and RSA, with the chain inside', async () => {
    const pass = lab.write('p12.pass', 'p12 secret\n');
    lab.issue('g9', { issuer: 'interA', ext: SERVER_EXT(san) });
    lab.run(['pkcs12', '-export', '-inkey', 'g9.key', '-in', 'g9.pem', '-certfile', 'interA.pem', '-passout', 'pass:p12 secret', '-out', 'g9.p12']);
    const r = await check({ p12: P('g9.p12'), keyPassphraseFile: pass, ca: P('rootA.pem'), fqdn: FQDN });
    expect(r.report.errors).toEqual([]);
    expect(r.report.leaf.commonName).toBe('g9');
    expect(r.report.intermediates.map((c) => c.commonName)).toEqual(['Test Intermediate A']);
    lab.issue('g9r', { keySpec: 'rsa:2048', issuer: 'interA', ext: SERVER_EXT(san) });
    lab.run(['pkcs12', '-export', '-inkey', 'g9r.key', '-in', 'g9r.pem', '-certfile', 'chainA-root.pem', '-passout', 'pass:p12 secret', '-out', 'g9r.p12']);
    const rr = await check({ p12: P('g9r.p12'), keyPassphraseFile: pass, fqdn: FQDN });
    expect(rr.report.errors).toEqual([]);
    expect(rr.report.root?.commonName).toBe('Test Root A');
  });
});
