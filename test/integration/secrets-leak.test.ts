import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { keystorePath, openKeystore } from '../../installer/keystore/index.ts';
import { pemBlocks } from '../../installer/pki/load.ts';
import { CA_EXT, OpensslLab, SERVER_EXT } from '../fixtures/pki/corpus.ts';
import { clusterDir, palisade, type CliResult } from '../fixtures/pki/cli.ts';

/**
 * Run every keys/certs command with debug logging, then search every byte of
 * their output and every file they wrote for every secret, in the forms a slip
 * would show it: as stored, hex, base64, base64url, PEM body and PEM lines,
 * and a private key's secret scalar(s).
 */

const PASS = 'leak test passphrase one';
const NEW_PASS = 'leak test passphrase two';
const RECOVERY = 'leak test recovery phrase';
const KEY_PASS = 'operator key passphrase';

const dir = clusterDir();
const inputs = new OpensslLab(); // the operator's files live elsewhere: they are inputs, not output
const outputs: Array<{ what: string; text: Buffer }> = [];
const snapshot = (): Map<string, number> => {
  const m = new Map<string, number>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else m.set(p, st.mtimeMs + st.size);
    }
  };
  walk(dir);
  return m;
};
const written = new Set<string>();

async function run(args: string[], env: Record<string, string>): Promise<CliResult> {
  const before = snapshot();
  const r = await palisade(['--verbose', ...args], { cwd: dir, env: { PALISADE_LOG_LEVEL: 'debug', ...env } });
  outputs.push({ what: `stdout of ${args.join(' ')}`, text: Buffer.from(r.stdout) }, { what: `stderr of ${args.join(' ')}`, text: Buffer.from(r.stderr) });
  for (const [p, v] of snapshot()) if (before.get(p) !== v) written.add(p);
  return r;
}

let results: CliResult[] = [];

beforeAll(async () => {
  inputs.issue('root', { subject: '/CN=Leak Root', ext: CA_EXT(), days: 3650 });
  inputs.issue('int', { subject: '/CN=Leak Intermediate', issuer: 'root', ext: CA_EXT(0), days: 1825 });
  inputs.issue('ingress', { issuer: 'int', ext: SERVER_EXT('DNS:palisade.lab.internal') });
  inputs.run(['pkcs8', '-topk8', '-in', 'ingress.key', '-out', 'ingress-enc.key', '-passout', `pass:${KEY_PASS}`]);
  const keyPass = inputs.write('key.pass', `${KEY_PASS}\n`);
  const newPass = inputs.write('new.pass', `${NEW_PASS}\n`);
  const e1 = { PALISADE_PASSPHRASE: PASS };
  const e2 = { PALISADE_PASSPHRASE: NEW_PASS };
  results = [
    await run(['keys', 'generate'], e1),
    await run(['keys', 'generate'], e1),
    await run(['keys', 'list'], e1),
    await run(['keys', 'list', '-o', 'json'], e1),
    await run(['keys', 'show', 'ca/root', '--pem'], e1),
    await run(['keys', 'show', 'secret/registry'], e1),
    await run(['keys', 'show', 'secret/jwt-signing', '--pem'], e1),
    await run(['keys', 'rotate', 'secret/registry'], e1),
    await run(['keys', 'rotate', 'secret/secrets-at-rest'], e1),
    await run(['keys', 'rotate', 'tls/api'], e1),
    await run(
      [
        'certs',
        'check',
        '--cert',
        inputs.p('ingress.pem'),
        '--key',
        inputs.p('ingress-enc.key'),
        '--key-passphrase-file',
        keyPass,
        '--chain',
        inputs.p('int.pem'),
      ],
      e1,
    ),
    await run(
      [
        'certs',
        'import',
        '--cert',
        inputs.p('ingress.pem'),
        '--key',
        inputs.p('ingress-enc.key'),
        '--key-passphrase-file',
        keyPass,
        '--chain',
        inputs.p('int.pem'),
        '--ca',
        inputs.p('root.pem'),
        '-o',
        'json',
      ],
      e1,
    ),
    await run(['certs', 'show'], e1),
    await run(['certs', 'show', '--pem'], e1),
    await run(['keys', 'passphrase', '--new-passphrase-file', newPass], e1),
    await run(['keys', 'export-recovery', join(dir, 'offline.keystore')], { ...e2, PALISADE_RECOVERY_PASSPHRASE: RECOVERY }),
    await run(['keys', 'list', '--keystore', join(dir, 'offline.keystore')], { PALISADE_PASSPHRASE: RECOVERY }),
    await run(['keys', 'prune'], e2),
    // failures print errors: they must not carry secrets either
    await run(['keys', 'list'], { PALISADE_PASSPHRASE: PASS }),
    await run(
      [
        'certs',
        'check',
        '--cert',
        inputs.p('ingress.pem'),
        '--key',
        inputs.p('ingress-enc.key'),
        '--key-passphrase-file',
        inputs.write('wrong.pass', 'wrong key passphrase'),
        '--fqdn',
        'other.example',
      ],
      e2,
    ),
    await run(['certs', 'check', '--cert', inputs.p('ingress.pem'), '--key', inputs.p('root.key'), '--fqdn', 'other.example'], e2),
    await run(['keys', 'rotate', 'secret/join-token'], { PALISADE_PASSPHRASE: 'wrong wrong wrong' }),
  ];
}, 240_000);

/** Every form of a secret worth searching for (at least 12 characters, so a match means something). */
function forms(value: string): string[] {
  const out = new Set<string>([value]);
  const bytes: Buffer[] = [Buffer.from(value, 'utf8')];
  if (/^[0-9a-f]+$/i.test(value) && value.length % 2 === 0) bytes.push(Buffer.from(value, 'hex'));
  if (/^[A-Za-z0-9+/=_-]+$/.test(value)) bytes.push(Buffer.from(value, 'base64'));
  for (const b of bytes) for (const enc of ['hex', 'base64', 'base64url'] as const) out.add(b.toString(enc).replace(/=+$/, ''));
  for (const block of pemBlocks(value)) {
    const b64 = block.body.toString('base64');
    out.add(b64);
    // each PEM line, except those that are public key material (an EC or Ed25519 private key ends with its public key)
    const pub = /PRIVATE KEY/.test(block.label) ? createPublicKey(block.text).export({ type: 'spki', format: 'der' }) : Buffer.alloc(0);
    const pubB64 = [0, 1, 2].map((i) => pub.subarray(i).toString('base64'));
    for (const line of b64.match(/.{1,64}/g) ?? []) {
      const core = line.replace(/=+$/, '').slice(0, -1);
      if (!pubB64.some((p) => p.includes(core))) out.add(line);
    }
    out.add(block.body.toString('hex'));
    if (/PRIVATE KEY/.test(block.label)) {
      const jwk = createPrivateKey(block.text).export({ format: 'jwk' }) as Record<string, string | undefined>;
      for (const k of ['d', 'p', 'q', 'dp', 'dq', 'qi']) {
        const v = jwk[k];
        if (v) {
          out.add(v);
          out.add(Buffer.from(v, 'base64url').toString('hex'));
          out.add(Buffer.from(v, 'base64url').toString('base64').replace(/=+$/, ''));
        }
      }
    }
  }
  return [...out].filter((s) => s.length >= 12);
}

describe('no secret reaches output or an unencrypted file', () => {
  it('the commands ran as expected (successes and the deliberate failures)', () => {
    expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
    expect(results[4]!.stdout).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(results[5]!.stdout).toMatch(/username: +palisade/);
    expect(results[6]!.stdout).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(results[18]!.stderr).toMatch(/wrong passphrase/);
    expect(results[19]!.stderr).toMatch(/cannot decrypt the private key .*: wrong passphrase/);
    expect(results[20]!.stderr).toMatch(/cert\.key-mismatch/);
  });

  it('searches every byte of stdout/stderr and of every file written, for every secret and passphrase', async () => {
    const ks = await openKeystore(keystorePath(dir, 'demo'), { passphrase: NEW_PASS });
    const rec = await openKeystore(join(dir, 'offline.keystore'), { passphrase: RECOVERY });
    const secrets = new Map<string, string>();
    for (const e of [...ks.list(), ...rec.list()]) secrets.set(`${e.name} (${e.kind})`, e.value);
    for (const [n, v] of [
      ['keystore passphrase', PASS],
      ['new passphrase', NEW_PASS],
      ['recovery passphrase', RECOVERY],
      ['imported key passphrase', KEY_PASS],
    ] as const)
      secrets.set(n, v);
    secrets.set('imported private key', readFileSync(inputs.p('ingress.key'), 'utf8'));
    // rotated-away versions were pruned from the keystore but were secrets too: they came from the first generate's keystore
    expect(secrets.size).toBeGreaterThan(22);

    // the files palisade wrote: the keystore, the recovery copy (and nothing else in plain text)
    const files = [...written].filter((p) => statSync(p, { throwIfNoEntry: false }));
    expect(files.map((p) => relative(dir, p)).sort()).toEqual([relative(dir, keystorePath(dir, 'demo')), 'offline.keystore']);
    for (const p of files) expect(statSync(p).mode & 0o777).toBe(0o600);
    const haystack = [...outputs, ...files.map((p) => ({ what: `file ${relative(dir, p)}`, text: readFileSync(p) }))];
    expect(haystack.reduce((n, h) => n + h.text.length, 0)).toBeGreaterThan(10_000);

    const leaks: string[] = [];
    let searched = 0;
    for (const [name, value] of secrets) {
      for (const f of forms(value)) {
        searched++;
        for (const h of haystack)
          if (h.text.includes(f) || h.text.toString('latin1').toLowerCase().includes(f.toLowerCase()))
            leaks.push(`${name} appears in ${h.what} (as ${f.slice(0, 12)}…)`);
      }
    }
    expect(leaks).toEqual([]);
    expect(searched).toBeGreaterThan(200);
  });

  it('the search finds a secret when one is there (the test can fail)', async () => {
    const ks = await openKeystore(keystorePath(dir, 'demo'), { passphrase: NEW_PASS });
    const salt = ks.get('secret/password-salt')!.value;
    const jwt = ks.get('secret/jwt-signing')!.value;
    const planted = Buffer.from(`log line ${Buffer.from(salt, 'hex').toString('base64')} and ${jwt.split('\n')[1]}`);
    expect(forms(salt).some((f) => planted.includes(f))).toBe(true);
    expect(forms(jwt).some((f) => planted.includes(f))).toBe(true);
    writeFileSync(join(inputs.dir, 'planted.txt'), planted);
  });
});
