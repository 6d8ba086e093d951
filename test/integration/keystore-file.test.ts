import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { stateDir, stateFiles } from '../../installer/state/paths.ts';
import { acquireFileLock } from '../../installer/core/lock.ts';
import { createKeystore, keystorePath, openKeystore, resolvePassphrase, type TtyInput as TtyInputForTest } from '../../installer/keystore/index.ts';

const kdf = { N: 1024, r: 8, p: 1 };
const PASS = 'correct horse battery staple';
const fresh = () => join(mkdtempSync(join(tmpdir(), 'ks-')), '.palisade', 'demo', 'keystore');

async function sample(path: string) {
  const ks = await createKeystore(path, { cluster: 'demo', passphrase: PASS, kdf });
  ks.put({ name: 'secret/join-token', kind: 'join-token', value: 'a'.repeat(64), meta: { fingerprint: 'sha256:x' } });
  ks.put({ name: 'luks-recovery/host1/vdb', kind: 'luks-recovery', value: 'cbdefghi-jklnrtuv', meta: { uuid: 'u-1' } });
  await ks.save();
  return ks;
}

describe('keystore file', () => {
  it('is written 0600 with a versioned header (scrypt parameters, salt, nonce) and nothing readable after it', async () => {
    const path = fresh();
    await sample(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const text = readFileSync(path, 'utf8');
    const header = JSON.parse(text.split('\n')[0]!);
    expect(header).toMatchObject({
      format: 'palisade-keystore',
      version: 1,
      cluster: 'demo',
      cipher: 'aes-256-gcm',
      kdf: { name: 'scrypt', N: 1024, r: 8, p: 1 },
    });
    expect(Buffer.from(header.kdf.salt, 'base64')).toHaveLength(16);
    expect(Buffer.from(header.nonce, 'base64')).toHaveLength(12);
    expect(text).not.toContain('a'.repeat(16));
    expect(text).not.toContain('cbdefghi');
    expect(text).not.toContain('join-token'); // names are secret-adjacent too: all inside the ciphertext
    // no temp files left beside it
    expect(readdirSync(join(path, '..'))).toEqual(['keystore']);
  });

  it('reopens with the passphrase; a new salt and nonce on every write', async () => {
    const path = fresh();
    const ks = await sample(path);
    const h1 = JSON.parse(readFileSync(path, 'utf8').split('\n')[0]!);
    ks.put({ name: 'secret/password-salt', kind: 'password-salt', value: 'ff'.repeat(16) });
    await ks.save();
    const h2 = JSON.parse(readFileSync(path, 'utf8').split('\n')[0]!);
    expect(h2.kdf.salt).not.toBe(h1.kdf.salt);
    expect(h2.nonce).not.toBe(h1.nonce);
    const again = await openKeystore(path, { passphrase: PASS });
    expect(again.list().map((e) => e.name)).toEqual(['luks-recovery/host1/vdb', 'secret/join-token', 'secret/password-salt']);
    expect(again.get('luks-recovery/host1/vdb')).toMatchObject({ kind: 'luks-recovery', value: 'cbdefghi-jklnrtuv', meta: { uuid: 'u-1' } });
    expect(again.get('secret/join-token')!.createdAt).toMatch(/^\d{4}-/);
  });

  it('default scrypt cost is N=2^17, r=8, p=1', async () => {
    const path = fresh();
    const ks = await createKeystore(path, { cluster: 'demo', passphrase: PASS });
    await ks.save();
    expect(JSON.parse(readFileSync(path, 'utf8').split('\n')[0]!).kdf).toMatchObject({ N: 131072, r: 8, p: 1 });
  });

  it('a wrong passphrase, a changed body, a changed header or a truncated file: a clear error and the file untouched', async () => {
    const path = fresh();
    await sample(path);
    const before = readFileSync(path);
    await expect(openKeystore(path, { passphrase: 'wrong passphrase!' })).rejects.toMatchObject({
      code: 'keystore.passphrase',
      message: expect.stringMatching(/^wrong passphrase for /),
    });
    const [head, body] = before.toString('utf8').split('\n') as [string, string];
    const flipped = Buffer.from(body, 'base64');
    flipped[5] = (flipped[5] ?? 0) ^ 1;
    writeFileSync(path, `${head}\n${flipped.toString('base64')}\n`);
    await expect(openKeystore(path, { passphrase: PASS })).rejects.toMatchObject({ code: 'keystore.tampered' });
    writeFileSync(path, `${head.replace('"cluster":"demo"', '"cluster":"evil"')}\n${body}\n`);
    await expect(openKeystore(path, { passphrase: PASS })).rejects.toMatchObject({ code: 'keystore.tampered' });
    writeFileSync(path, before.subarray(0, head.length + 10));
    await expect(openKeystore(path, { passphrase: PASS })).rejects.toMatchObject({ code: 'keystore.damaged' });
    writeFileSync(path, 'not a keystore\n');
    await expect(openKeystore(path, { passphrase: PASS })).rejects.toMatchObject({ code: 'keystore.damaged' });
    writeFileSync(path, `${head.replace('"version":1', '"version":9')}\n${body}\n`);
    await expect(openKeystore(path, { passphrase: PASS })).rejects.toMatchObject({ code: 'keystore.version' });
    await expect(openKeystore(join(path, '..', 'nope'), { passphrase: PASS })).rejects.toMatchObject({ code: 'keystore.missing', exitCode: 2 });
  });

  it('refuses to create over an existing keystore', async () => {
    const path = fresh();
    await sample(path);
    await expect(createKeystore(path, { cluster: 'demo', passphrase: PASS, kdf })).rejects.toMatchObject({ code: 'keystore.exists' });
  });

  it("two writers: the second is refused instead of losing the first one's change", async () => {
    const path = fresh();
    await sample(path);
    const a = await openKeystore(path, { passphrase: PASS, kdf });
    const b = await openKeystore(path, { passphrase: PASS, kdf });
    a.put({ name: 'x/a', kind: 'join-token', value: 'from-a-1234567' });
    b.put({ name: 'x/b', kind: 'join-token', value: 'from-b-1234567' });
    await a.save();
    const afterA = readFileSync(path);
    await expect(b.save()).rejects.toMatchObject({ code: 'keystore.changed' });
    expect(readFileSync(path).equals(afterA)).toBe(true);
    expect((await openKeystore(path, { passphrase: PASS })).get('x/a')?.value).toBe('from-a-1234567');
  });

  it('passphrase change re-encrypts atomically; export writes a separate recovery copy', async () => {
    const path = fresh();
    const ks = await sample(path);
    await ks.changePassphrase('a brand new passphrase');
    await expect(openKeystore(path, { passphrase: PASS })).rejects.toMatchObject({ code: 'keystore.passphrase' });
    expect((await openKeystore(path, { passphrase: 'a brand new passphrase' })).list()).toHaveLength(2);
    const copy = join(path, '..', 'recovery.keystore');
    await ks.exportTo(copy, 'the recovery passphrase');
    expect(statSync(copy).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(copy, 'utf8').split('\n')[0]!).purpose).toBe('recovery');
    const rec = await openKeystore(copy, { passphrase: 'the recovery passphrase' });
    expect(rec.get('luks-recovery/host1/vdb')?.value).toBe('cbdefghi-jklnrtuv');
    await expect(openKeystore(copy, { passphrase: 'a brand new passphrase' })).rejects.toMatchObject({ code: 'keystore.passphrase' });
  });

  it('keystorePath is in the state directory .palisade/<cluster>/ beside the config (one name, from state/paths)', () => {
    expect(keystorePath('/etc/site', 'prod')).toBe(stateFiles(stateDir('/etc/site', 'prod')).keystore);
    expect(keystorePath('/etc/site', 'prod')).toMatch(/^\/etc\/site\/\.palisade\/prod\/keystore/);
  });
});

describe('keystore lock', () => {
  const children: Array<ReturnType<typeof spawn>> = [];
  afterEach(() => {
    for (const c of children.splice(0)) c.kill();
  });

  it("a live owner blocks the writer with a clear message; a dead owner's lock is taken over", async () => {
    const path = fresh();
    await sample(path);
    const lockPath = `${path}.lock`;
    const child = spawn('sleep', ['30']);
    children.push(child);
    writeFileSync(
      lockPath,
      JSON.stringify({ pid: child.pid, host: (await import('node:os')).hostname(), since: '2026-01-01T00:00:00Z', command: 'keys rotate' }),
    );
    const ks = await openKeystore(path, { passphrase: PASS, kdf, lockWaitMs: 300 });
    ks.put({ name: 'x/y', kind: 'join-token', value: 'zzzzzzzzzzzz' });
    await expect(ks.save()).rejects.toMatchObject({ code: 'keystore.locked', message: expect.stringContaining(`locked by process ${child.pid}`) });
    child.kill();
    await new Promise((r) => child.once('exit', r));
    await ks.save(); // the owner is gone: stale lock taken over
    expect(existsSync(lockPath)).toBe(false);
    expect((await openKeystore(path, { passphrase: PASS })).get('x/y')).toBeDefined();
  });

  it('O_EXCL: a second acquire waits for the first to release', async () => {
    const p = join(mkdtempSync(join(tmpdir(), 'lock-')), 'k.lock');
    const busy = () => new Error('held');
    const first = await acquireFileLock(p, { command: 'test', busy });
    const order: string[] = [];
    const second = acquireFileLock(p, { command: 'test', waitMs: 3000, busy }).then((l) => {
      order.push('second');
      return l;
    });
    await new Promise((r) => setTimeout(r, 250));
    order.push('release');
    first.release();
    (await second).release();
    expect(order).toEqual(['release', 'second']);
  });
});

describe('resolvePassphrase', () => {
  const envBefore = process.env.PALISADE_PASSPHRASE;
  afterEach(() => {
    if (envBefore === undefined) delete process.env.PALISADE_PASSPHRASE;
    else process.env.PALISADE_PASSPHRASE = envBefore;
  });
  const notTty = Object.assign(new PassThrough(), { isTTY: false }) as unknown as TtyInputForTest;

  it('reads a file (one trailing newline dropped), then the environment', async () => {
    const f = join(mkdtempSync(join(tmpdir(), 'pp-')), 'pass');
    writeFileSync(f, 'from the file 123\r\n', { mode: 0o600 });
    process.env.PALISADE_PASSPHRASE = 'from the environment';
    expect(await resolvePassphrase({ file: f, input: notTty })).toBe('from the file 123');
    expect(await resolvePassphrase({ input: notTty })).toBe('from the environment');
    process.env.PALISADE_PASSPHRASE = 'short';
    await expect(resolvePassphrase({ create: true, input: notTty })).rejects.toMatchObject({ code: 'keystore.passphrase-short', exitCode: 2 });
  });

  it('without a file, variable or terminal: a usage error naming both ways', async () => {
    delete process.env.PALISADE_PASSPHRASE;
    await expect(resolvePassphrase({ input: notTty })).rejects.toMatchObject({
      code: 'keystore.passphrase-missing',
      exitCode: 2,
      message: expect.stringMatching(/PALISADE_PASSPHRASE.*--passphrase-file/),
    });
  });

  function fakeTty(typed: string) {
    const input = Object.assign(new PassThrough(), {
      isTTY: true,
      raw: [] as boolean[],
      setRawMode(m: boolean) {
        input.raw.push(m);
        return input;
      },
    });
    const output = new PassThrough();
    let shown = '';
    output.on('data', (d) => (shown += d));
    let i = 0;
    // type one line each time the program asks
    output.on('data', (d: Buffer) => {
      if (/: $/.test(d.toString())) {
        const line = typed.split('\n')[i++];
        if (line !== undefined) setImmediate(() => input.write(`${line}\r`));
      }
    });
    return { input: input as unknown as TtyInputForTest & { raw: boolean[] }, output, shown: () => shown };
  }

  it('prompts on a terminal without echo, twice for a new passphrase', async () => {
    delete process.env.PALISADE_PASSPHRASE;
    const t = fakeTty('typed secret words\ntyped secret words');
    expect(await resolvePassphrase({ create: true, input: t.input, output: t.output })).toBe('typed secret words');
    expect(t.shown()).toBe('Keystore passphrase: \nRepeat the keystore passphrase: \n');
    expect(t.input.raw).toEqual([true, false, true, false]);
    const m = fakeTty('typed secret words\ntyped secret wordz');
    await expect(resolvePassphrase({ create: true, input: m.input, output: m.output })).rejects.toMatchObject({ code: 'keystore.passphrase-mismatch' });
    const b = fakeTty('abcX\u007fdefghijklmn');
    expect(await resolvePassphrase({ input: b.input, output: b.output })).toBe('abcdefghijklmn');
  });
});

describe('the keystore is the escrow store of disk encryption', () => {
  it('luks-recovery entries written as encryption/apply does are found by escrowIndex after a reopen, beside the key set', async () => {
    const { parseConfig } = await import('../../installer/config/load.ts');
    const { escrowIndex } = await import('../../installer/encryption/apply.ts');
    const { recoveryKeyName } = await import('../../installer/encryption/settings.ts');
    const { ensureKeySet } = await import('../../installer/pki/keyset.ts');
    const { keySetInput } = await import('../../installer/actions/keys.ts');
    const { config } = await parseConfig(
      [
        'apiVersion: palisade/v1',
        'cluster: { name: demo, fqdn: palisade.lab.internal }',
        'hosts:',
        '  - { name: host1, address: 10.0.0.1, role: controller, dataDisk: /dev/vdb }',
        '',
      ].join('\n'),
      join(tmpdir(), 'palisade.yaml'),
    );
    const path = fresh();
    const ks = await createKeystore(path, { cluster: 'demo', passphrase: PASS, kdf });
    await ensureKeySet(keySetInput(config), ks);
    const store: import('../../installer/encryption/types.ts').EscrowStore = ks;
    store.put({
      name: recoveryKeyName('host1', '/dev/vdb'),
      kind: 'luks-recovery',
      value: 'cbdefghi-jklnrtuv-cbdefghi-jklnrtuv-cbdefghi-jklnrtuv-cbdefghi-jklnrtuv',
      meta: { host: 'host1', device: '/dev/vdb', uuid: 'uuid-1' },
      createdAt: new Date().toISOString(),
    });
    await store.save();
    const again = await openKeystore(path, { passphrase: PASS });
    expect(escrowIndex(config, again).get('luks-recovery/host1/vdb')).toEqual({ uuid: 'uuid-1' });
    expect(await ensureKeySet(keySetInput(config), again)).toEqual([]);
    expect(again.list()).toHaveLength(18); // 17 of the key set for one host (with the cluster's five CAs) + the recovery key
  });
});
