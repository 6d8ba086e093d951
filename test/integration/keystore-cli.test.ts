import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { keystorePath, openKeystore } from '../../installer/keystore/index.ts';
import { CA_EXT, OpensslLab, SERVER_EXT } from '../fixtures/pki/corpus.ts';
import { BIN, clusterDir, palisade } from '../fixtures/pki/cli.ts';

const PASS = 'operator passphrase one';
const dir = clusterDir();
const ksPath = keystorePath(dir, 'demo');
const env = { PALISADE_PASSPHRASE: PASS };
const run = (args: string[], e: Record<string, string | undefined> = env) => palisade(args, { cwd: dir, env: e });

beforeAll(async () => {
  const r = await run(['keys', 'generate']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
}, 60_000);

describe('palisade keys', () => {
  it('generate writes .palisade/<cluster>/keystore (0600, directory 0700) and is idempotent', async () => {
    expect(statSync(ksPath).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, '.palisade', 'demo')).mode & 0o777).toBe(0o700);
    const again = await run(['keys', 'generate']);
    expect(again.stdout).toMatch(/^nothing to do: all 23 entries are in /);
    const ks = await openKeystore(ksPath, { passphrase: PASS });
    expect(ks.list().map((e) => e.name)).toContain('tls/host/host4/client');
  }, 30_000);

  it('list shows names, kinds, fingerprints and dates, never a value', async () => {
    const ks = await openKeystore(ksPath, { passphrase: PASS });
    const r = await run(['keys', 'list']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/NAME +KIND +FINGERPRINT +CREATED +EXPIRES/);
    expect(r.stdout).toMatch(/ca\/root +root-ca +sha256:[0-9a-f]{16} +\d{4}-\d\d-\d\d +\d{4}-\d\d-\d\d/);
    expect(r.stdout).toMatch(/secret\/join-token +join-token +sha256:[0-9a-f]{16} +\d{4}-\d\d-\d\d\n/);
    const json = JSON.parse((await run(['keys', 'list', '-o', 'json'])).stdout);
    expect(json.entries).toHaveLength(23);
    expect(json.entries.find((e: { name: string }) => e.name === 'tls/api')).toMatchObject({
      kind: 'tls-server',
      subject: 'CN=palisade.lab.internal',
      ip: expect.stringContaining('10.231.0.100'),
    });
    const show = await run(['keys', 'show', 'ca/root', '--pem']);
    expect(show.stdout).toBe(ks.get('ca/root')!.meta!.cert);
    const tok = await run(['keys', 'show', 'secret/join-token']);
    expect(tok.stdout).toMatch(/^name: +secret\/join-token\nkind: +join-token\nfingerprint: +sha256:[0-9a-f]{16}\n/);
    expect(tok.stdout).not.toContain(ks.get('secret/join-token')!.value);
    expect((await run(['keys', 'show', 'secret/join-token', '--pem'])).stderr).toMatch(/has no certificate or public key to print/);
    for (const e of ks.list()) {
      expect(r.stdout).not.toContain(e.value.slice(0, 40));
      expect(JSON.stringify(json)).not.toContain(e.value.slice(-40));
    }
  }, 30_000);

  it('rotate keeps the previous version until prune; a second rotate before pruning is refused', async () => {
    const before = (await openKeystore(ksPath, { passphrase: PASS })).get('tls/registry')!;
    const r = await run(['keys', 'rotate', 'tls/registry']);
    expect(r.stdout).toMatch(/rotated tls\/registry; the previous version is kept as tls\/registry@prev/);
    let ks = await openKeystore(ksPath, { passphrase: PASS });
    expect(ks.get('tls/registry@prev')!.value).toBe(before.value);
    expect(ks.get('tls/registry')!.meta!.fingerprint).not.toBe(before.meta!.fingerprint);
    // the new certificate comes from the same intermediate
    const root = join(dir, 'root.pem');
    writeFileSync(root, ks.get('ca/root')!.meta!.cert!);
    writeFileSync(join(dir, 'int.pem'), ks.get('ca/intermediate')!.meta!.cert!);
    writeFileSync(join(dir, 'reg.pem'), ks.get('tls/registry')!.meta!.cert!);
    expect(execFileSync('openssl', ['verify', '-CAfile', root, '-untrusted', join(dir, 'int.pem'), join(dir, 'reg.pem')], { encoding: 'utf8' })).toMatch(/OK/);
    const again = await run(['keys', 'rotate', 'tls/registry']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/tls\/registry@prev still holds the version before the current one/);
    const tok = await run(['keys', 'rotate', 'secret/join-token']);
    expect(tok.code).toBe(0);
    const pruned = await run(['keys', 'prune', 'tls/registry']);
    expect(pruned.stdout).toBe('pruned tls/registry@prev\n');
    ks = await openKeystore(ksPath, { passphrase: PASS });
    expect(ks.get('tls/registry@prev')).toBeUndefined();
    expect(ks.get('secret/join-token@prev')).toBeDefined();
    expect((await run(['keys', 'rotate', 'nope/none'])).stderr).toMatch(/no keystore entry named nope\/none/);
  }, 60_000);

  it('a wrong passphrase or a missing one: a clear error, exit code, and the file unchanged', async () => {
    const before = readFileSync(ksPath);
    const wrong = await run(['keys', 'rotate', 'tls/api'], { PALISADE_PASSPHRASE: 'not the passphrase' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^error \[keystore\.passphrase\]: wrong passphrase for .*keystore(\.json)?\n/);
    expect(wrong.stderr).not.toMatch(/at .*\.ts:\d+/); // no stack
    const none = await run(['keys', 'list'], {});
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no keystore passphrase: not running in a terminal, and neither PALISADE_PASSPHRASE nor --passphrase-file is set/);
    expect(readFileSync(ksPath).equals(before)).toBe(true);
  }, 30_000);

  it('passphrase re-encrypts under the new one; export-recovery writes a copy under a separate passphrase', async () => {
    const pf = join(dir, 'new.pass');
    writeFileSync(pf, 'operator passphrase two\n', { mode: 0o600 });
    const r = await run(['keys', 'passphrase', '--new-passphrase-file', pf]);
    expect(r.stdout).toMatch(/is now encrypted under the new passphrase/);
    expect((await run(['keys', 'list'])).code).toBe(1);
    const env2 = { PALISADE_PASSPHRASE: 'operator passphrase two' };
    const same = await run(['keys', 'export-recovery', join(dir, 'rec.keystore')], { ...env2, PALISADE_RECOVERY_PASSPHRASE: 'operator passphrase two' });
    expect(same.stderr).toMatch(/recovery passphrase must differ/);
    const ex = await run(['keys', 'export-recovery', join(dir, 'rec.keystore')], { ...env2, PALISADE_RECOVERY_PASSPHRASE: 'offline recovery phrase' });
    expect(ex.code).toBe(0);
    expect(statSync(join(dir, 'rec.keystore')).mode & 0o777).toBe(0o600);
    const list = await palisade(['keys', 'list', '--keystore', 'rec.keystore'], { cwd: dir, env: { PALISADE_PASSPHRASE: 'offline recovery phrase' } });
    expect(list.stdout).toMatch(/rec\.keystore \(cluster demo, 24 entries\)/);
    const exists = await run(['keys', 'export-recovery', join(dir, 'rec.keystore')], { ...env2, PALISADE_RECOVERY_PASSPHRASE: 'offline recovery phrase' });
    expect(exists.code).toBe(2);
    // back to the first passphrase for the other tests
    writeFileSync(pf, PASS);
    expect((await run(['keys', 'passphrase', '--new-passphrase-file', pf], env2)).code).toBe(0);
  }, 60_000);

  it('two processes writing at once: one wins, the other is refused, nothing is lost', async () => {
    const [a, b] = await Promise.all([run(['keys', 'rotate', 'tls/host/host1/server']), run(['keys', 'rotate', 'tls/host/host2/server'])]);
    const codes = [a.code, b.code].sort();
    const ks = await openKeystore(ksPath, { passphrase: PASS });
    const prevs = ['tls/host/host1/server@prev', 'tls/host/host2/server@prev'].filter((n) => ks.get(n));
    if (codes[0] === 0 && codes[1] === 0) {
      // they did not overlap: both changes are there
      expect(prevs).toHaveLength(2);
    } else {
      expect(codes).toEqual([0, 1]);
      expect(a.stderr + b.stderr).toMatch(/keystore\.changed|keystore\.locked/);
      expect(prevs).toHaveLength(1);
    }
  }, 60_000);
});

/** Run the CLI on a real pseudo-terminal (util-linux `script`), typing `answers` at each passphrase prompt. */
function onTerminal(args: string[], cwd: string, answers: string[]): Promise<{ code: number | null; screen: string }> {
  return new Promise((resolvePromise) => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PALISADE_')));
    const child = spawn('script', ['-qec', [process.execPath, BIN, ...args].map((a) => `'${a}'`).join(' '), '/dev/null'], { cwd, env });
    let screen = '';
    let asked = 0;
    child.stdout.on('data', (d: Buffer) => {
      screen += d.toString();
      const prompts = (screen.match(/passphrase: /g) ?? []).length;
      while (asked < prompts && asked < answers.length) child.stdin.write(`${answers[asked++]}\r`);
    });
    child.on('exit', (code) => resolvePromise({ code, screen }));
  });
}

describe('passphrase prompt on a terminal', () => {
  it('asks twice on creation, once after, and echoes nothing', async () => {
    const d = clusterDir();
    const phrase = 'typed at the terminal 42';
    const gen = await onTerminal(['keys', 'generate'], d, [phrase, phrase]);
    expect(gen.code).toBe(0);
    expect(gen.screen).toMatch(/New keystore passphrase: \r?\nRepeat the new keystore passphrase: \r?\ncreated /);
    const list = await onTerminal(['keys', 'list'], d, [phrase]);
    expect(list.code).toBe(0);
    expect(list.screen).toMatch(/^Keystore passphrase: \r?\n.*\(cluster demo, 23 entries\)/);
    const mismatch = await onTerminal(['keys', 'generate', '-c', join(clusterDir(), 'palisade.yaml')], d, [phrase, `${phrase}!`]);
    expect(mismatch.code).toBe(2);
    expect(mismatch.screen).toMatch(/the two new keystore passphrases typed differ/);
    for (const s of [gen.screen, list.screen, mismatch.screen]) expect(s).not.toContain('typed at the terminal');
  }, 60_000);
});

describe('palisade certs', () => {
  const lab = new OpensslLab();
  beforeAll(() => {
    lab.issue('root', { subject: '/CN=Site Root', ext: CA_EXT(), days: 3650 });
    lab.issue('int', { subject: '/CN=Site Intermediate', issuer: 'root', ext: CA_EXT(0), days: 1825 });
    lab.issue('ingress', { issuer: 'int', ext: SERVER_EXT('DNS:*.lab.internal'), days: 400 });
    lab.issue('bad', { issuer: 'int', ext: SERVER_EXT('DNS:other.example') });
  }, 60_000);

  it('check refuses with every reason and exit 1; import stores; show prints subject, names, chain, expiry', async () => {
    const bad = await run(['certs', 'check', '--cert', lab.p('bad.pem'), '--key', lab.p('ingress.key'), '--chain', lab.p('int.pem')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /error \[cert\.refused\]: the certificate for palisade\.lab\.internal was refused: 2 problems\n {2}- cert\.key-mismatch: .*\n {2}- cert\.name-mismatch: /,
    );
    const json = JSON.parse((await run(['certs', 'check', '--cert', lab.p('bad.pem'), '--key', lab.p('bad.key'), '-o', 'json'])).stdout);
    expect(json).toMatchObject({ ok: false, stored: false, errors: [{ code: 'cert.name-mismatch' }] });
    const imp = await run([
      'certs',
      'import',
      '--cert',
      lab.p('ingress.pem'),
      '--key',
      lab.p('ingress.key'),
      '--chain',
      lab.p('int.pem'),
      '--ca',
      lab.p('root.pem'),
    ]);
    expect(imp.stderr).toBe('');
    expect(imp.stdout).toMatch(
      /imported the certificate for palisade\.lab\.internal into .*keystore(\.json)? \(tls\/ingress\)\nsubject: +CN=ingress\nnames: +DNS:\*\.lab\.internal\n/,
    );
    const show = await run(['certs', 'show']);
    expect(show.stdout).toMatch(
      /tls\/ingress for palisade\.lab\.internal[\s\S]*<- CN=Site Intermediate \(intermediate[\s\S]*<- CN=Site Root \(root[\s\S]*valid: .* \(\d+ days left\)/,
    );
    const pem = await run(['certs', 'show', '--pem']);
    writeFileSync(lab.p('served.pem'), pem.stdout);
    expect(
      execFileSync(
        'openssl',
        ['verify', '-verify_hostname', 'palisade.lab.internal', '-CAfile', lab.p('root.pem'), '-untrusted', lab.p('served.pem'), lab.p('served.pem')],
        { encoding: 'utf8' },
      ),
    ).toMatch(/OK/);
    const ks = await openKeystore(ksPath, { passphrase: PASS });
    expect(ks.get('tls/ingress')).toMatchObject({ kind: 'ingress-tls', meta: { fqdn: 'palisade.lab.internal' } });
    // import again: the same one is a no-op; a refused one changes nothing
    const before = readFileSync(ksPath);
    expect((await run(['certs', 'import', '--cert', lab.p('bad.pem'), '--key', lab.p('bad.key')])).code).toBe(1);
    expect(readFileSync(ksPath).equals(before)).toBe(true);
    expect((await run(['keys', 'rotate', 'tls/ingress'])).stderr).toMatch(/import its replacement with `palisade certs import`/);
  }, 60_000);
});
