/**
 * The SSH transport against the lab's hosts (real OpenSSH inside systemd-nspawn machines):
 * every host from palisade.yaml, sudo as `ops` (passwordless) and as a user whose sudo asks
 * for a password, uploads through sudo, the jump host path, a changed key, a dead host.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type LoadedConfig } from '../../installer/config/load.ts';
import { shq } from '../../installer/core/quote.ts';
import { closeAll, configTargets, connectHost, connectHosts, type HostTarget } from '../../installer/hosts/index.ts';
import type { RemoteHost } from '../../installer/hosts/types.ts';
import { getLab, labSsh } from './lab.ts';
import { failure } from '../fixtures/errors.ts';

const lab = getLab();
const behind = lab.hosts.find((h) => h.behind);
const direct = lab.hosts.filter((h) => !h.behind);
const first = direct[0]!;
let loaded: LoadedConfig;
const open: RemoteHost[] = [];

function root(host: string, cmd: string, input?: string): string {
  const r = labSsh(host, cmd, { ...(input !== undefined ? { input } : {}) });
  if (r.code !== 0) throw new Error(`${host}: ${cmd} -> exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

function target(name: string, over: Partial<HostTarget> = {}): HostTarget {
  const t = configTargets(loaded.config, loaded.baseDir).find((x) => x.name === name);
  if (!t) throw new Error(`no ${name} in ${loaded.path}`);
  return { ...t, ...over };
}

async function connect(name: string, over: Partial<HostTarget> = {}, opts: Parameters<typeof connectHost>[1] = {}): Promise<RemoteHost> {
  const h = await connectHost(target(name, over), opts);
  open.push(h);
  return h;
}

// The transport's tests need host1's stock sshd: an earlier file on the shared lab may have
// hardened it, and its AllowUsers and MaxSessions would refuse the accounts these tests create
// (the hardening's own tests cover that). Its drop-in is set aside here and put back after.
const HARDENING_DROPIN = '/etc/ssh/sshd_config.d/00-palisade-hardening.conf';
const ASIDE = '/run/palisade-ssh-test-hardening.conf';
beforeAll(async () => {
  loaded = await loadConfig(lab.configPath);
  labSsh(first.name, `if [ -f ${HARDENING_DROPIN} ]; then mv ${HARDENING_DROPIN} ${ASIDE} && systemctl reload ssh; fi`);
});
afterAll(async () => {
  await closeAll(open);
  labSsh(first.name, 'rm -f /etc/sudoers.d/opspw');
  labSsh(first.name, `if [ -f ${ASIDE} ]; then mv ${ASIDE} ${HARDENING_DROPIN} && systemctl reload ssh; fi`);
});

describe('every lab host from palisade.yaml', () => {
  it('connects to all hosts (the one behind the jump host too) and runs commands as root', async () => {
    const { hosts, failures } = await connectHosts(loaded.config, loaded.baseDir);
    try {
      expect(failures).toEqual([]);
      expect([...hosts.keys()].sort()).toEqual(lab.hosts.map((h) => h.name).sort());
      for (const [name, h] of hosts) {
        const r = await h.exec('hostname; id -u', { check: true });
        expect(r.stdout).toBe(`${name}\n0\n`);
      }
    } finally {
      await closeAll(hosts);
    }
  });

  it('a dead host (nothing on its port) fails fast while the others finish', async () => {
    const cfg = structuredClone(loaded.config);
    cfg.hosts[1]!.port = 2;
    const t0 = Date.now();
    const { hosts, failures } = await connectHosts(cfg, loaded.baseDir, { retryBaseDelayMs: 100 });
    try {
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(failures.map((f) => f.name)).toEqual([cfg.hosts[1]!.name]);
      expect(failures[0]!.error.code).toBe('ssh.unreachable');
      expect(failures[0]!.error.message).toContain(`${cfg.hosts[1]!.address}:2`);
      expect(hosts.size).toBe(lab.hosts.length - 1);
    } finally {
      await closeAll(hosts);
    }
  });

  it('a changed host key is refused before any credential is sent', async () => {
    const other = lab.hosts.find((h) => h.name !== first.name)!;
    const e = await failure(connectHost(target(first.name, { hostKey: other.hostKey })));
    expect(e.code).toBe('ssh.hostkey-changed');
    expect(e.message).toContain(other.hostKey);
    expect(e.message).toContain(first.hostKey);
  });

  it('the lab known_hosts is accepted as a trust source without pins', async () => {
    const { parseKnownHosts } = await import('../../installer/hosts/known-hosts.ts');
    const { readFileSync } = await import('node:fs');
    const kh = parseKnownHosts(readFileSync(lab.knownHostsPath, 'utf8'));
    const { hostKey: _, ...unpinned } = target(first.name);
    const h = await connect(first.name, unpinned, { knownHosts: [kh] });
    expect((await h.exec('hostname')).stdout.trim()).toBe(first.name);
  });
});

describe('sudo as ops (passwordless)', () => {
  let ops: RemoteHost;
  beforeAll(async () => {
    ops = await connect(first.name, { user: 'ops' });
  });

  it('runs as ops without sudo and as root with it; stdin reaches the command intact', async () => {
    expect((await ops.exec('id -un')).stdout.trim()).toBe('ops');
    expect((await ops.exec('id -u', { sudo: true })).stdout.trim()).toBe('0');
    expect((await ops.exec('cat', { sudo: true, stdin: 'line1\nline2' })).stdout).toBe('line1\nline2');
  });

  it('hostile strings survive the sudo sh -c quoting', async () => {
    const s = 'it\'s "q" $(id) `id` * ? [a] ~ \\ ; | & \n é 🔐 ${HOME}';
    expect((await ops.exec(`printf '%s' ${shq(s)}`, { sudo: true })).stdout).toBe(s);
  });

  it('check failures through sudo name the host and exit code', async () => {
    const e = await failure(ops.exec('echo nope >&2; exit 4', { sudo: true, check: true }));
    expect(e.message).toContain(`${first.name}: command failed with exit code 4`);
    expect(e.message).toContain('nope');
  });

  it('uploads through sudo: private staging under /tmp, installed as root with mode and owner, verified, staging removed', async () => {
    const dst = '/etc/palisade-ssh-test/secret.key';
    root(first.name, 'rm -rf /etc/palisade-ssh-test; mkdir -p /etc/palisade-ssh-test');
    await ops.upload(Buffer.from('top secret\n'), dst, { mode: 0o600, owner: 'root:root', sudo: true });
    expect(
      root(first.name, `stat -c '%a %U:%G' ${dst}; cat ${dst}; ls -a /etc/palisade-ssh-test | wc -l; ls -d /tmp/palisade-upload.* 2>/dev/null | wc -l`),
    ).toBe('600 root:root\ntop secret\n3\n0\n');
    // without sudo, ops cannot write there: a clear refusal
    const e = await failure(ops.upload(Buffer.from('x'), '/etc/palisade-ssh-test/other'));
    expect(e.code).toBe('ssh.upload');
    expect(e.message).toMatch(/permission denied/i);
  });

  it('a timed-out sudo command is stopped on the host, with everything it started', async () => {
    const e = await failure(ops.exec('sleep 3071 & sleep 3072; wait', { sudo: true, timeoutMs: 800 }));
    expect(e.code).toBe('ssh.exec-timeout');
    await new Promise((r) => setTimeout(r, 2500));
    expect(root(first.name, "pgrep -fc '^sleep 307[12]$' || true").trim()).toBe('0');
  });
});

const password = "pw with 'quotes' $(and) spaces";

describe('sudo that asks for a password', () => {
  const user = 'opspw';
  beforeAll(() => {
    root(first.name, `id ${user} >/dev/null 2>&1 || useradd -m -s /bin/bash ${user}; chpasswd`, `${user}:${password}\n`);
    root(
      first.name,
      `install -d -m 700 -o ${user} -g ${user} /home/${user}/.ssh && install -m 600 -o ${user} -g ${user} /root/.ssh/authorized_keys /home/${user}/.ssh/authorized_keys && echo '${user} ALL=(ALL:ALL) ALL' > /etc/sudoers.d/${user} && chmod 440 /etc/sudoers.d/${user}`,
    );
  });

  it('takes the password from PALISADE_SUDO_PASSWORD, on stdin first, never in argv; the command still gets its stdin', async () => {
    const h = await connect(first.name, { user }, { env: { PALISADE_SUDO_PASSWORD: password } });
    expect((await h.exec('id -u', { sudo: true })).stdout.trim()).toBe('0');
    expect((await h.exec('cat', { sudo: true, stdin: 'payload\n' })).stdout).toBe('payload\n');
    const running = h.exec('sleep 2', { sudo: true });
    await new Promise((r) => setTimeout(r, 800));
    const ps = root(first.name, 'ps -eo args');
    await running;
    expect(ps).toContain('sudo -k -S');
    expect(ps).not.toContain('quotes');
    await h.upload(Buffer.from('pw-upload'), '/root/pw-upload.txt', { sudo: true, mode: 0o600 });
    expect(root(first.name, 'cat /root/pw-upload.txt; rm /root/pw-upload.txt')).toBe('pw-upload');
  });

  it('a wrong password stops with ssh.sudo-password; none at all (no terminal) says how to give one', async () => {
    const wrong = await connect(first.name, { user }, { env: { PALISADE_SUDO_PASSWORD: 'not it' } });
    const e = await failure(wrong.exec('true', { sudo: true }));
    expect(e.code).toBe('ssh.sudo-password');
    expect(e.message).toContain(user);
    const none = await connect(first.name, { user }, { env: {} });
    const n = await failure(none.exec('true', { sudo: true }));
    expect(n.code).toBe('ssh.sudo-password-needed');
    expect(n.hint).toContain('PALISADE_SUDO_PASSWORD');
  });
});

describe('sudo password asked on the terminal', () => {
  it('asks once on the TTY (not echoed), and the command runs as root', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join, resolve } = await import('node:path');
    const { spawn } = await import('node:child_process');
    const repo = resolve(import.meta.dirname, '../..');
    const dir = mkdtempSync(join(tmpdir(), 'palisade-tty-'));
    const t = target(first.name, { user: 'opspw' });
    const script = join(dir, 'run.mts');
    writeFileSync(
      script,
      `import { connectHost } from ${JSON.stringify(join(repo, 'installer/hosts/index.ts'))};
const h = await connectHost(${JSON.stringify(t)}, { env: {} });
const a = await h.exec('id -u', { sudo: true });
const b = await h.exec('id -un', { sudo: true });
process.stdout.write('RESULT ' + a.stdout.trim() + ' ' + b.stdout.trim() + '\\n');
await h.close();
`,
    );
    // `script` gives the child a pseudo-terminal, as an operator's shell would
    const child = spawn('script', ['-qec', `${join(repo, 'node_modules/.bin/tsx')} ${script}`, '/dev/null'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, PALISADE_SUDO_PASSWORD: '' },
    });
    let out = '';
    let answered = false;
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (!answered && /sudo password for opspw/.test(out)) {
        answered = true;
        child.stdin.write(`${password}\r`);
      }
    });
    const code = await new Promise<number>((r) => child.once('exit', (c) => r(c ?? 1)));
    rmSync(dir, { recursive: true, force: true });
    expect(out).toContain('RESULT 0 root');
    expect(out.match(/sudo password for/g)).toHaveLength(1);
    expect(out).not.toContain('quotes');
    expect(code).toBe(0);
  }, 60_000);
});

describe.runIf(behind)('jump host', () => {
  it(`${behind?.name} is reached only through ${behind?.behind}: exec and upload`, async () => {
    const h = await connect(behind!.name);
    expect((await h.exec('hostname')).stdout.trim()).toBe(behind!.name);
    // the session comes from the jump host, not from this machine
    const from = (await h.exec('echo $SSH_CLIENT')).stdout.split(' ')[0];
    expect(from).toBe(lab.hosts.find((x) => x.name === behind!.behind)!.address);
    await h.upload(Buffer.alloc(5 << 20, 7), '/root/jumped.bin', { mode: 0o640 });
    expect((await h.exec("stat -c '%a %s' /root/jumped.bin && rm /root/jumped.bin")).stdout.trim()).toBe(`640 ${5 << 20}`);
  });

  it('without the jump host it is unreachable', async () => {
    const { via: _, ...alone } = target(behind!.name);
    const e = await failure(connectHost(alone, { connectTimeoutMs: 1500, attempts: 1 }));
    expect(['ssh.unreachable', 'ssh.connect-timeout']).toContain(e.code);
  });
});
