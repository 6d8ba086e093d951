/**
 * `palisade hosts trust` and `palisade hosts check`, run as the operator runs
 * them (the CLI in a child process) against real loopback sshd servers.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseDocument } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../installer/config/load.ts';
import { trustHosts } from '../../installer/hosts/pin.ts';
import { freePort, startSshd, type Sshd } from '../fixtures/sshd.ts';

const run = promisify(execFile);
const cli = join(import.meta.dirname, '../../installer/bin/palisade.js');

async function palisade(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run('node', [cli, ...args], { env: { ...process.env, ...env }, timeout: 60_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : -1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
}

let a: Sshd;
let b: Sshd;
let dir: string;
beforeAll(async () => {
  a = await startSshd();
  b = await startSshd({ keysFrom: a });
  dir = mkdtempSync(join(tmpdir(), 'palisade-trust-'));
});
afterAll(async () => {
  await a?.stop();
  await b?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function writeConfig(name: string, hosts: string): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    `# palisade.yaml for the trust test
apiVersion: palisade/v1
cluster:
  name: trust-test # the cluster
  fqdn: palisade.test.internal
ssh:
  connectTimeoutSeconds: 2
hosts:
${hosts}`,
  );
  chmodSync(path, 0o640);
  return path;
}

const host = (name: string, port: number, extra = '') => `  # ${name}: keep this comment
  - name: ${name}
    address: 127.0.0.1
    port: ${port} # ssh port
    role: controller
    privateKey: ${a.keys.ed25519.path}
${extra}`;

describe('palisade hosts trust', () => {
  it('--yes: shows each fingerprint, pins it in palisade.yaml, keeps comments, mode and layout', async () => {
    const path = writeConfig('trust.yaml', host('host1', a.port) + host('host2', b.port).replace('controller', 'worker'));
    const before = readFileSync(path, 'utf8');
    const r = await palisade(['hosts', 'trust', '-c', path, '--yes']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(a.hostKeyFingerprint);
    expect(r.stdout).toContain(b.hostKeyFingerprint);
    expect(r.stdout).toMatch(/host1 .*NEW/);
    const after = readFileSync(path, 'utf8');
    const doc = parseDocument(after).toJS() as { hosts: Array<{ hostKey?: string }> };
    expect(doc.hosts.map((h) => h.hostKey)).toEqual([a.hostKeyFingerprint, b.hostKeyFingerprint]);
    for (const comment of ['# palisade.yaml for the trust test', '# the cluster', '# host1: keep this comment', '# host2: keep this comment', '# ssh port'])
      expect(after).toContain(comment);
    // only hostKey lines were added
    const added = after.split('\n').filter((l) => !before.split('\n').includes(l));
    expect(added.every((l) => /^\s+hostKey: SHA256:/.test(l))).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o640);
    // the pinned config now connects
    expect((await palisade(['hosts', 'check', '-c', path])).code).toBe(0);
    // a second run has nothing to do
    const again = await palisade(['hosts', 'trust', '-c', path]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('pinned (matches)');
    expect(again.stdout).toContain('nothing to pin');
  });

  it('without --yes and without a terminal: shows the keys, pins nothing, says how to confirm', async () => {
    const path = writeConfig('noyes.yaml', host('host1', a.port));
    const before = readFileSync(path, 'utf8');
    const r = await palisade(['hosts', 'trust', '-c', path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--yes');
    expect(r.stderr).not.toMatch(/\bat .*\.ts:\d+/);
    expect(readFileSync(path, 'utf8')).toBe(before);
  });

  it('asks, and pins only when the operator says yes', async () => {
    const path = writeConfig('ask.yaml', host('host1', a.port));
    const before = readFileSync(path, 'utf8');
    const questions: string[] = [];
    const out: string[] = [];
    const no = await trustHosts(await loadConfig(path), { interactive: true, confirm: async (q) => (questions.push(q), false), out: (t) => out.push(t) });
    expect(no).toBe(1);
    expect(questions[0]).toContain('pin 1 host key');
    expect(readFileSync(path, 'utf8')).toBe(before);
    const yes = await trustHosts(await loadConfig(path), { interactive: true, confirm: async () => true, out: () => undefined });
    expect(yes).toBe(0);
    expect(readFileSync(path, 'utf8')).toContain(`hostKey: ${a.hostKeyFingerprint}`);
  });

  it('a changed key is shown with both fingerprints and kept unless --replace', async () => {
    const wrong = `SHA256:${'B'.repeat(43)}`;
    const path = writeConfig('changed.yaml', host('host1', a.port, `    hostKey: ${wrong} # old key\n`));
    const r = await palisade(['hosts', 'trust', '-c', path, '--yes']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`CHANGED (was ${wrong})`);
    expect(r.stdout).toContain(a.hostKeyFingerprint);
    expect(readFileSync(path, 'utf8')).toContain(wrong);
    const rep = await palisade(['hosts', 'trust', '-c', path, '--yes', '--replace']);
    expect(rep.code).toBe(0);
    const after = readFileSync(path, 'utf8');
    expect(after).toContain(`hostKey: ${a.hostKeyFingerprint} # old key`);
  });

  it("a pin of the host's RSA key (one of several host keys) is recognised as matching", async () => {
    const { execFileSync } = await import('node:child_process');
    const rsaHostKey = join(dir, 'rsa_host_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-N', '', '-f', rsaHostKey], { stdio: 'ignore' });
    const multi = await startSshd({ keysFrom: a, extraConfig: [`HostKey ${rsaHostKey}`] });
    try {
      const rsaFp = execFileSync('ssh-keygen', ['-lf', `${rsaHostKey}.pub`], { encoding: 'utf8' }).split(' ')[1]!;
      const path = writeConfig('rsa-pin.yaml', host('host1', multi.port, `    hostKey: ${rsaFp}\n`));
      const r = await palisade(['hosts', 'trust', '-c', path]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`host1 .*ssh-rsa +${rsaFp.replace(/[+/]/g, '\\$&')} +pinned \\(matches\\)`));
    } finally {
      await multi.stop();
    }
  });

  it('an unreachable host is reported, the others are still pinned', async () => {
    const dead = await freePort();
    const path = writeConfig('dead.yaml', host('host1', a.port) + host('host2', dead).replace('controller', 'worker'));
    const r = await palisade(['hosts', 'trust', '-c', path, '--yes']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/host2 .*error: .*unreachable/);
    expect(readFileSync(path, 'utf8')).toContain(`hostKey: ${a.hostKeyFingerprint}`);
  });

  it('keys already trusted by ssh.knownHosts are pinned without asking; a revoked one is not', async () => {
    writeFileSync(
      join(dir, 'operator_known_hosts'),
      `[127.0.0.1]:${a.port} ${a.hostKeyPub.split(' ').slice(0, 2).join(' ')}\n@revoked * ${b.hostKeyPub.split(' ').slice(0, 2).join(' ')}\n`,
    );
    const path = writeConfig('kh.yaml', host('host1', a.port) + host('host2', b.port).replace('controller', 'worker'));
    writeFileSync(path, readFileSync(path, 'utf8').replace('ssh:\n', 'ssh:\n  knownHosts: operator_known_hosts # relative to this file\n'));
    const r = await palisade(['hosts', 'trust', '-c', path]);
    expect(r.stdout).toMatch(/host1 .*trusted by known_hosts/);
    expect(r.stdout).toMatch(/host2 .*REVOKED/);
    expect(r.code).toBe(1);
    const doc = parseDocument(readFileSync(path, 'utf8')).toJS() as { hosts: Array<{ hostKey?: string }> };
    expect(doc.hosts.map((h) => h.hostKey)).toEqual([a.hostKeyFingerprint, undefined]);
  });

  it('the jump host key is pinned first, then the hosts behind it are reached through it', async () => {
    const path = writeConfig(
      'jump.yaml',
      host('host1', b.port, '    viaJumpHost: true\n') +
        `jumpHost: # the bastion
  address: 127.0.0.1
  port: ${a.port}
  privateKey: ${a.keys.ed25519.path}
`,
    );
    const r = await palisade(['hosts', 'trust', '-c', path, '--yes']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = parseDocument(readFileSync(path, 'utf8')).toJS() as { jumpHost: { hostKey: string }; hosts: Array<{ hostKey: string }> };
    expect(doc.jumpHost.hostKey).toBe(a.hostKeyFingerprint);
    expect(doc.hosts[0]!.hostKey).toBe(b.hostKeyFingerprint);
    expect(readFileSync(path, 'utf8')).toContain('# the bastion');
  });
});

describe('palisade hosts check', () => {
  it('a table with every host; a dead one fails with its reason while the others pass; exit 1', async () => {
    const dead = await freePort();
    const path = writeConfig(
      'check.yaml',
      host('host1', a.port, `    hostKey: ${a.hostKeyFingerprint}\n`) +
        host('host2', b.port, `    hostKey: ${b.hostKeyFingerprint}\n`).replace('controller', 'worker') +
        host('host3', dead).replace('controller', 'worker'),
    );
    const r = await palisade(['hosts', 'check', '-c', path]);
    expect(r.code).toBe(1);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^HOST\s+ADDRESS\s+USER\s+STATUS\s+LATENCY\s+ERROR$/);
    expect(lines.find((l) => l.startsWith('host1'))).toMatch(/root\s+ok\s+[\d.]+ ms/);
    expect(lines.find((l) => l.startsWith('host2'))).toMatch(/ok/);
    expect(lines.find((l) => l.startsWith('host3'))).toMatch(/FAIL.*ssh\.unreachable.*connection refused/);
    expect(r.stdout).toContain('host3: check that the host is up');

    const j = await palisade(['hosts', 'check', '-c', path, '--output', 'json']);
    expect(j.code).toBe(1);
    const doc = JSON.parse(j.stdout) as { ok: boolean; hosts: Array<{ host: string; ok: boolean; latencyMs?: number; error?: { code: string } }> };
    expect(doc.ok).toBe(false);
    expect(doc.hosts.map((h) => [h.host, h.ok])).toEqual([
      ['host1', true],
      ['host2', true],
      ['host3', false],
    ]);
    expect(doc.hosts[0]!.latencyMs).toBeGreaterThan(0);
    expect(doc.hosts[2]!.error?.code).toBe('ssh.unreachable');
  });

  it('an unpinned host fails with the fingerprint to pin', async () => {
    const path = writeConfig('unpinned.yaml', host('host1', a.port));
    const r = await palisade(['hosts', 'check', '-c', path, '-o', 'json']);
    const doc = JSON.parse(r.stdout) as { hosts: Array<{ error?: { code: string; message: string; hint: string } }> };
    expect(doc.hosts[0]!.error?.code).toBe('ssh.hostkey-unknown');
    expect(doc.hosts[0]!.error?.message).toContain(a.hostKeyFingerprint);
    expect(doc.hosts[0]!.error?.hint).toContain('palisade hosts trust');
  });
});
