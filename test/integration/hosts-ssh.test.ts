/**
 * The SSH transport against real OpenSSH servers on 127.0.0.1 (test/fixtures/sshd.ts):
 * exec, streaming, exit codes, timeouts, uploads, host-key pinning, key types,
 * agent, jump host, and many hosts with dead ones among them.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { configSchema, type PalisadeConfig } from '../../installer/config/schema.ts';
import { redact } from '../../installer/core/log.ts';
import { shq } from '../../installer/core/quote.ts';
import { closeAll, connectHost, connectHosts, type HostTarget } from '../../installer/hosts/index.ts';
import type { RemoteHost } from '../../installer/hosts/types.ts';
import { freePort, startSshd, type Sshd } from '../fixtures/sshd.ts';
import { failure } from '../fixtures/errors.ts';

let sshd: Sshd;
let work: string;
const open: RemoteHost[] = [];

beforeAll(async () => {
  sshd = await startSshd();
  work = mkdtempSync(join(tmpdir(), 'palisade-ssh-work-'));
});
afterAll(async () => {
  await closeAll(open);
  await sshd?.stop();
  rmSync(work, { recursive: true, force: true });
});

const target = (over: Partial<HostTarget> = {}): HostTarget => ({
  name: 'host1',
  address: '127.0.0.1',
  port: sshd.port,
  user: 'root',
  privateKey: sshd.keys.ed25519.path,
  hostKey: sshd.hostKeyFingerprint,
  ...over,
});

async function connect(over: Partial<HostTarget> = {}, opts: Parameters<typeof connectHost>[1] = {}): Promise<RemoteHost> {
  const h = await connectHost(target(over), opts);
  open.push(h);
  return h;
}

function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const old = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(vars)) v === undefined ? delete process.env[k] : (process.env[k] = v);
  return fn().finally(() => {
    for (const [k, v] of Object.entries(old)) v === undefined ? delete process.env[k] : (process.env[k] = v);
  });
}

describe('exec as root', () => {
  let h: RemoteHost;
  beforeAll(async () => {
    h = await connect();
  });

  it('returns exit code, stdout and stderr', async () => {
    expect(await h.exec('echo out; echo err >&2; exit 3')).toEqual({ code: 3, stdout: 'out\n', stderr: 'err\n' });
    expect((await h.exec('id -u')).stdout.trim()).toBe('0');
    expect((await h.exec('kill -TERM $$')).code).toBe(128 + 15);
  });

  it('feeds stdin and closes it (a command reading stdin does not hang)', async () => {
    expect((await h.exec('cat', { stdin: 'secret\nline2' })).stdout).toBe('secret\nline2');
    expect((await h.exec('cat | wc -c', { timeoutMs: 5000 })).stdout.trim()).toBe('0');
    const big = randomBytes(3 << 20);
    expect((await h.exec('sha256sum', { stdin: big })).stdout.split(' ')[0]).toBe(createHash('sha256').update(big).digest('hex'));
  });

  it('hostile strings quoted with shq arrive unchanged on the host, also via sudo (a no-op for root)', async () => {
    const s = 'it\'s "q" $(id) `id` * ? [a] ~ \\ ; | & \n\t é 🔐 ${HOME}';
    expect((await h.exec(`printf '%s' ${shq(s)}`)).stdout).toBe(s);
    expect((await h.exec(`printf '%s' ${shq(s)}`, { sudo: true })).stdout).toBe(s);
  });

  it('streams output as it arrives', async () => {
    const t0 = Date.now();
    const seen: Array<[string, number]> = [];
    const r = await h.exec('echo first; sleep 1; echo second >&2; echo third', {
      onStdout: (c) => seen.push([`out:${c.toString().trim()}`, Date.now() - t0]),
      onStderr: (c) => seen.push([`err:${c.toString().trim()}`, Date.now() - t0]),
    });
    const total = Date.now() - t0;
    expect(seen[0]![0]).toBe('out:first');
    expect(total - seen[0]![1]).toBeGreaterThan(700);
    expect(seen.map((x) => x[0])).toContain('err:second');
    expect(r.stdout).toBe('first\nthird\n');
  });

  it('check: throws ssh.exec with the host, the exit code and the last stderr lines, secrets redacted', async () => {
    redact.add('hunter2-very-secret');
    const e = await failure(h.exec('echo one >&2; echo "token hunter2-very-secret rejected" >&2; exit 7', { check: true }));
    expect(e.code).toBe('ssh.exec');
    expect(e.message).toContain('host1');
    expect(e.message).toContain('exit code 7');
    expect(e.message).toContain('token [REDACTED] rejected');
    expect(e.message).not.toContain('hunter2');
  });

  it('a command that outlives its timeout is stopped and named in the error', async () => {
    const marker = join(work, 'not-reached');
    const t0 = Date.now();
    const e = await failure(h.exec(`sleep 2 && touch ${shq(marker)}`, { timeoutMs: 400 }));
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(e.code).toBe('ssh.exec-timeout');
    expect(e.message).toMatch(/^host1: command timed out after 0\.4 s/);
    expect(e.message).toContain('sleep 2');
    await new Promise((r) => setTimeout(r, 2200));
    expect(() => statSync(marker)).toThrow();
    // the connection still works
    expect((await h.exec('echo alive')).stdout).toBe('alive\n');
  });

  it('an aborted command rejects with the abort reason', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('operator pressed ctrl-c')), 200);
    await expect(h.exec('sleep 5', { signal: ac.signal })).rejects.toThrow('operator pressed ctrl-c');
  });

  it('a connection lost mid-command fails that command with ssh.disconnected, and later ones at once', async () => {
    const lost = await connect();
    // the session's parent is the sshd process serving this connection
    const e = await failure(lost.exec('sleep 0.2; kill -9 $PPID; sleep 5', { timeoutMs: 10_000 }));
    expect(e.code).toBe('ssh.disconnected');
    expect(e.message).toContain('host1');
    expect((await failure(lost.exec('true'))).code).toBe('ssh.disconnected');
  });

  it('keepalives find a host that stopped answering: the running command fails with ssh.disconnected', async () => {
    const frozen = await connect({}, { keepaliveMs: 300 });
    // one sshd process serves all sessions of a connection: the parent of each session's shell
    const pid = Number((await frozen.exec('echo $PPID')).stdout);
    expect(pid).toBeGreaterThan(1);
    const t0 = Date.now();
    const running = failure(frozen.exec('sleep 10', { timeoutMs: 20_000 }));
    await new Promise((r) => setTimeout(r, 200));
    process.kill(pid, 'SIGSTOP');
    try {
      const e = await running;
      expect(e.code).toBe('ssh.disconnected');
      expect(Date.now() - t0).toBeLessThan(4000);
    } finally {
      process.kill(pid, 'SIGKILL');
    }
  });

  it('runs more commands at once than sshd sessions allow per connection', async () => {
    const rs = await Promise.all(Array.from({ length: 30 }, (_, i) => h.exec(`echo ${i}`)));
    expect(rs.map((r) => Number(r.stdout))).toEqual(Array.from({ length: 30 }, (_, i) => i));
  });
});

describe('upload', () => {
  let h: RemoteHost;
  let dir: string;
  beforeAll(async () => {
    h = await connect();
    dir = join(work, 'up');
    mkdirSync(dir);
  });

  it('bytes: verified, renamed into place with the mode, no temporary file left', async () => {
    await h.upload(Buffer.from('s3cret\n'), join(dir, 'secret.key'), { mode: 0o600 });
    expect(readFileSync(join(dir, 'secret.key'), 'utf8')).toBe('s3cret\n');
    expect(statSync(join(dir, 'secret.key')).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['secret.key']);
  });

  it('a file: streamed, replaces the old one, mode and owner applied', async () => {
    const src = join(work, 'big.bin');
    writeFileSync(src, randomBytes(20 << 20));
    const dst = join(dir, 'big.bin');
    writeFileSync(dst, 'old');
    await h.upload(src, dst, { mode: 0o755, owner: 'nobody:nogroup' });
    const st = statSync(dst);
    expect(st.mode & 0o777).toBe(0o755);
    expect(execFileSync('stat', ['-c', '%U:%G', dst], { encoding: 'utf8' }).trim()).toBe('nobody:nogroup');
    expect(execFileSync('cmp', [src, dst]).length).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['big.bin', 'secret.key']);
  });

  it('file names with spaces and quotes', async () => {
    const dst = join(dir, "it's a file $(x)");
    await h.upload(Buffer.from('x'), dst);
    expect(readFileSync(dst, 'utf8')).toBe('x');
    rmSync(dst);
  });

  it('refusals: missing directory, relative path, missing local file, unknown owner (nothing left behind)', async () => {
    let e = await failure(h.upload(Buffer.from('x'), join(work, 'no-such-dir', 'f')));
    expect(e.code).toBe('ssh.upload');
    expect(e.message).toContain('does not exist');
    e = await failure(h.upload(Buffer.from('x'), 'relative/path'));
    expect(e.code).toBe('ssh.upload-path');
    e = await failure(h.upload(join(work, 'nope.bin'), join(dir, 'x')));
    expect(e.code).toBe('ssh.upload-source');
    e = await failure(h.upload(Buffer.from('x'), join(dir, 'owned'), { owner: 'no-such-user-palisade' }));
    expect(e.code).toBe('ssh.upload');
    expect(readdirSync(dir).sort()).toEqual(['big.bin', 'secret.key']);
  });

  it('reports progress as the host acknowledges the bytes, up to the size', async () => {
    const seen: Array<[number, number]> = [];
    await h.upload(randomBytes(3 << 20), join(dir, 'progress.bin'), { onProgress: (s, t) => seen.push([s, t]) });
    expect(seen.length).toBeGreaterThan(3);
    expect(seen.every(([, t]) => t === 3 << 20)).toBe(true);
    expect(seen.map(([s]) => s)).toEqual([...seen.map(([s]) => s)].sort((a, b) => a - b));
    expect(seen.at(-1)![0]).toBe(3 << 20);
    rmSync(join(dir, 'progress.bin'));
  });

  it('a connection that drops in the middle of an upload fails at once, naming the host (it used to wait forever)', async () => {
    // a TCP relay to the sshd, cut (both sides destroyed) once the first bytes are acknowledged
    const cutDir = join(work, 'cut');
    mkdirSync(cutDir);
    const sockets: Socket[] = [];
    const relay: Server = createServer((c) => {
      const up = new Socket();
      sockets.push(c, up);
      up.connect(sshd.port, '127.0.0.1');
      c.pipe(up).pipe(c);
      c.on('error', () => undefined);
      up.on('error', () => undefined);
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', () => r()));
    const port = (relay.address() as AddressInfo).port;
    try {
      const c = await connectHost(target({ port }));
      let cut = false;
      const t0 = performance.now();
      const e = await failure(
        c.upload(randomBytes(32 << 20), join(cutDir, 'cut.bin'), {
          onProgress: () => {
            if (cut) return;
            cut = true;
            for (const s of sockets) s.destroy();
          },
        }),
      );
      await c.close().catch(() => undefined);
      expect(cut).toBe(true);
      expect(e.code).toBe('ssh.upload');
      expect(e.message).toMatch(/^host1: cannot write .* the connection to the host was lost/);
      expect(performance.now() - t0).toBeLessThan(15_000);
      // only the temporary name can be left (nothing can remove it over a dead connection)
      const left = readdirSync(cutDir);
      expect(left.filter((f) => !/^\.cut\.bin\.palisade-[0-9a-f]+\.tmp$/.test(f))).toEqual([]);
      expect(left.length).toBe(1);
      // and the next upload of the same path removes it
      await h.upload(Buffer.from('whole'), join(cutDir, 'cut.bin'));
      expect(readdirSync(cutDir)).toEqual(['cut.bin']);
    } finally {
      relay.close();
    }
  });

  it('a digest that differs on the host is refused and the file is not put in place', async () => {
    // a server whose sessions see a sha256sum that lies: the check must catch it
    const fake = join(work, 'fakebin');
    mkdirSync(fake, { recursive: true });
    for (const tool of ['sha256sum', 'openssl'])
      writeFileSync(join(fake, tool), '#!/bin/sh\ncat >/dev/null\necho 0000000000000000000000000000000000000000000000000000000000000000  -\n', { mode: 0o755 });
    const liar = await startSshd({ keysFrom: sshd, env: { PATH: `${fake}:/usr/bin:/bin:/usr/sbin:/sbin` } });
    try {
      const l = await connectHost(target({ port: liar.port, hostKey: liar.hostKeyFingerprint }));
      const e = await failure(l.upload(Buffer.from('payload'), join(dir, 'corrupt.bin')));
      await l.close();
      expect(e.code).toBe('ssh.upload-verify');
      expect(e.message).toContain('not put in place');
      expect(readdirSync(dir).sort()).toEqual(['big.bin', 'secret.key']);
    } finally {
      await liar.stop();
    }
  });
});

describe('host keys', () => {
  it('a pinned key that differs is refused loudly with both fingerprints', async () => {
    const wrong = 'SHA256:' + 'A'.repeat(43);
    const e = await failure(connectHost(target({ hostKey: wrong, pinPath: 'hosts[0].hostKey' })));
    expect(e.code).toBe('ssh.hostkey-changed');
    expect(e.message).toContain(wrong);
    expect(e.message).toContain(sshd.hostKeyFingerprint);
    expect(e.hint).toContain('--replace');
  });

  it("a pin of the host's RSA key (not the ed25519 one ssh2 prefers) is found, not called a change", async () => {
    const rsaHostKey = join(work, 'rsa_host_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-N', '', '-f', rsaHostKey], { stdio: 'ignore' });
    const multi = await startSshd({ keysFrom: sshd, extraConfig: [`HostKey ${rsaHostKey}`] });
    try {
      const rsaFp = execFileSync('ssh-keygen', ['-lf', `${rsaHostKey}.pub`], { encoding: 'utf8' }).split(' ')[1]!;
      const h = await connectHost(target({ port: multi.port, hostKey: rsaFp }));
      expect((await h.exec('echo rsa-pinned')).stdout).toBe('rsa-pinned\n');
      await h.close();
      // a pin that matches none of its keys is still a change
      const e = await failure(connectHost(target({ port: multi.port, hostKey: `SHA256:${'C'.repeat(43)}` })));
      expect(e.code).toBe('ssh.hostkey-changed');
    } finally {
      await multi.stop();
    }
  });

  it('an unknown key is refused and its fingerprint (as ssh-keygen -lf shows it) is shown with how to pin it', async () => {
    const { hostKey: _, ...noPin } = target();
    const e = await failure(connectHost({ ...noPin, pinPath: 'hosts[0].hostKey' }));
    expect(e.code).toBe('ssh.hostkey-unknown');
    expect(e.message).toContain(sshd.hostKeyFingerprint);
    expect(e.hint).toContain('palisade hosts trust');
  });

  it('known_hosts (plain and hashed) is a trust source; a different key there is a change', async () => {
    const { hostKey: _, ...noPin } = target();
    const kh = join(work, 'known_hosts');
    writeFileSync(kh, `[127.0.0.1]:${sshd.port} ${sshd.hostKeyPub.split(' ').slice(0, 2).join(' ')}\n`);
    execFileSync('ssh-keygen', ['-q', '-H', '-f', kh], { stdio: 'ignore' });
    expect(readFileSync(kh, 'utf8')).toMatch(/^\|1\|/);
    const { parseKnownHosts } = await import('../../installer/hosts/known-hosts.ts');
    const h = await connectHost(noPin, { knownHosts: [parseKnownHosts(readFileSync(kh, 'utf8'))] });
    expect((await h.exec('echo ok')).stdout).toBe('ok\n');
    await h.close();
    const other = readFileSync(sshd.keys.other.path + '.pub', 'utf8')
      .split(' ')
      .slice(0, 2)
      .join(' ');
    const e = await failure(connectHost(noPin, { knownHosts: [parseKnownHosts(`[127.0.0.1]:${sshd.port} ${other}\n`)] }));
    expect(e.code).toBe('ssh.hostkey-changed');
    const r = await failure(connectHost(target(), { knownHosts: [parseKnownHosts(`@revoked * ${sshd.hostKeyPub}\n`)] }));
    expect(r.code).toBe('ssh.hostkey-revoked');
  });
});

describe('keys and credentials', () => {
  it('an RSA key', async () => {
    const h = await connect({ privateKey: sshd.keys.rsa.path });
    expect((await h.exec('echo rsa')).stdout).toBe('rsa\n');
  });

  it('an encrypted key: passphrase from PALISADE_SSH_KEY_PASSPHRASE; missing or wrong says so', async () => {
    const t = { privateKey: sshd.keys.encrypted.path };
    let e = await withEnv({ PALISADE_SSH_KEY_PASSPHRASE: undefined }, () => failure(connectHost(target(t))));
    expect(e.code).toBe('ssh.key-passphrase');
    expect(e.hint).toContain('PALISADE_SSH_KEY_PASSPHRASE');
    e = await withEnv({ PALISADE_SSH_KEY_PASSPHRASE: 'wrong passphrase' }, () => failure(connectHost(target(t))));
    expect(e.code).toBe('ssh.key-passphrase');
    const h = await withEnv({ PALISADE_SSH_KEY_PASSPHRASE: sshd.passphrase }, () => connect(t));
    expect((await h.exec('echo enc')).stdout).toBe('enc\n');
  });

  it('ssh-agent when no key is given and SSH_AUTH_SOCK is set; neither: a clear error', async () => {
    const sock = join(work, 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 50 && !readdirSync(work).includes('agent.sock'); i++) await new Promise((r) => setTimeout(r, 50));
      execFileSync('ssh-add', ['-q', sshd.keys.rsa.path], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
      const { privateKey: _, ...noKey } = target();
      const h = await withEnv({ SSH_AUTH_SOCK: sock }, () => connectHost(noKey));
      expect((await h.exec('echo agent')).stdout).toBe('agent\n');
      await h.close();
      const e = await withEnv({ SSH_AUTH_SOCK: undefined }, () => failure(connectHost(noKey)));
      expect(e.code).toBe('ssh.no-credentials');
    } finally {
      agent.kill();
    }
  });

  it('a key the host does not accept: ssh.auth names the user and the key, and is not retried', async () => {
    const t0 = Date.now();
    const e = await failure(connectHost(target({ privateKey: sshd.keys.other.path }), { retryBaseDelayMs: 2000 }));
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(e.code).toBe('ssh.auth');
    expect(e.message).toContain('"root"');
    expect(e.message).toContain(sshd.keys.other.path);
    expect(e.hint).toContain('authorized_keys');
  });
});

describe('many hosts', () => {
  let silent: Server;
  let silentPort: number;
  let behind: Sshd;
  beforeAll(async () => {
    // accepts TCP and never speaks SSH
    silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    silentPort = (silent.address() as { port: number }).port;
    behind = await startSshd({ keysFrom: sshd });
  });
  afterAll(async () => {
    silent.close();
    await behind?.stop();
  });
  afterEach(() => undefined);

  function config(hosts: Array<Record<string, unknown>>, extra: Record<string, unknown> = {}): PalisadeConfig {
    return configSchema.parse({
      apiVersion: 'palisade/v1',
      cluster: { name: 'test', fqdn: 'palisade.test.internal' },
      ssh: { concurrency: 10, connectTimeoutSeconds: 1.5, commandTimeoutSeconds: 30, keepaliveSeconds: 5 },
      hosts: hosts.map((h, i) => ({
        name: `host${i + 1}`,
        address: '127.0.0.1',
        role: i < 1 ? 'controller' : 'worker',
        privateKey: sshd.keys.ed25519.path,
        ...h,
      })),
      ...extra,
    });
  }

  it('a dead port and a bad name fail fast with clear messages while the other hosts connect', async () => {
    const dead = await freePort();
    const cfg = config([
      { port: sshd.port, hostKey: sshd.hostKeyFingerprint },
      { port: dead },
      { address: 'no-such-host.invalid', port: 22 },
      { port: silentPort },
      { port: behind.port, hostKey: behind.hostKeyFingerprint },
    ]);
    const t0 = Date.now();
    const { hosts, failures } = await connectHosts(cfg, work, { retryBaseDelayMs: 100 });
    const took = Date.now() - t0;
    try {
      expect([...hosts.keys()].sort()).toEqual(['host1', 'host5']);
      const by = Object.fromEntries(failures.map((f) => [f.name, f.error]));
      expect(by.host2?.code).toBe('ssh.unreachable');
      expect(by.host2?.message).toContain(`127.0.0.1:${dead}`);
      expect(by.host2?.message).toContain('connection refused');
      expect(by.host2?.hint).toContain(`port ${dead}`);
      expect(by.host3?.code).toBe('ssh.dns');
      expect(by.host3?.message).toContain('no-such-host.invalid');
      expect(by.host4?.code).toBe('ssh.connect-timeout');
      // 3 attempts of 1.5 s plus backoff, for the silent one; everything else is done long before
      expect(took).toBeLessThan(8000);
      for (const h of hosts.values()) expect((await h.exec('echo up')).stdout).toBe('up\n');
    } finally {
      await closeAll(hosts);
    }
  });

  it('connects to at most ssh.concurrency hosts at once', async () => {
    let open = 0;
    let peak = 0;
    const counting = createServer((sock) => {
      peak = Math.max(peak, ++open);
      sock.resume();
      sock.on('close', () => open--);
      sock.on('error', () => undefined);
    });
    await new Promise<void>((r) => counting.listen(0, '127.0.0.1', r));
    const port = (counting.address() as { port: number }).port;
    try {
      const cfg = config(Array.from({ length: 6 }, () => ({ port })));
      cfg.ssh.concurrency = 2;
      cfg.ssh.connectTimeoutSeconds = 0.4;
      const t0 = Date.now();
      const { failures } = await connectHosts(cfg, work, { attempts: 1 });
      const took = Date.now() - t0;
      expect(failures).toHaveLength(6);
      expect(failures.every((f) => f.error.code === 'ssh.connect-timeout')).toBe(true);
      // three waves of two 0.4 s timeouts (all six at once would take 0.4 s)
      expect(took).toBeGreaterThanOrEqual(1150);
      // the server may see the next connection a moment before the close of the last one
      expect(peak).toBeLessThanOrEqual(3);
    } finally {
      counting.close();
    }
  });

  it('an aborted connect stops at once with the abort reason', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('operator pressed ctrl-c')), 150);
    const t0 = Date.now();
    await expect(connectHost(target({ port: silentPort }), { connectTimeoutMs: 5000, signal: ac.signal })).rejects.toThrow('operator pressed ctrl-c');
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('a dead port alone fails in well under a second per attempt', async () => {
    const t0 = Date.now();
    const { failures } = await connectHosts(config([{ port: await freePort() }]), work, { retryBaseDelayMs: 50 });
    expect(failures[0]?.error.code).toBe('ssh.unreachable');
    expect(Date.now() - t0).toBeLessThan(1500);
  });

  it('hosts behind a jump host share one jump connection; a dead target behind it fails alone', async () => {
    const dead = await freePort();
    const cfg = config(
      [
        { port: behind.port, hostKey: behind.hostKeyFingerprint, viaJumpHost: true },
        { port: behind.port, hostKey: behind.hostKeyFingerprint, viaJumpHost: true },
        { port: dead, viaJumpHost: true },
      ],
      { jumpHost: { address: '127.0.0.1', port: sshd.port, user: 'root', privateKey: sshd.keys.ed25519.path, hostKey: sshd.hostKeyFingerprint } },
    );
    const { hosts, failures } = await connectHosts(cfg, work, { retryBaseDelayMs: 50 });
    try {
      expect([...hosts.keys()].sort()).toEqual(['host1', 'host2']);
      expect(failures[0]?.name).toBe('host3');
      expect(failures[0]?.error.code).toBe('ssh.unreachable');
      expect(failures[0]?.error.message).toContain('through the jump host');
      // the session on the target comes in from the jump host's sshd
      const conns = execFileSync('ss', ['-tnp', 'state', 'established', `( dport = :${behind.port} )`], { encoding: 'utf8' });
      expect(conns).toContain('sshd');
      const h1 = hosts.get('host1')!;
      expect((await h1.exec('echo via jump')).stdout).toBe('via jump\n');
      await h1.upload(Buffer.from('through the jump'), join(work, 'jumped.txt'), { mode: 0o600 });
      expect(readFileSync(join(work, 'jumped.txt'), 'utf8')).toBe('through the jump');
    } finally {
      await closeAll(hosts);
    }
  });

  it('the jump host key is checked too', async () => {
    const cfg = config([{ port: behind.port, hostKey: behind.hostKeyFingerprint, viaJumpHost: true }], {
      jumpHost: { address: '127.0.0.1', port: sshd.port, user: 'root', privateKey: sshd.keys.ed25519.path, hostKey: behind.hostKeyFingerprint },
    });
    const { hosts, failures } = await connectHosts(cfg, work);
    expect(hosts.size).toBe(0);
    expect(failures[0]?.error.code).toBe('ssh.hostkey-changed');
    expect(failures[0]?.error.message).toContain('jump host');
  });
});
