import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSshd, type Sshd } from '../fixtures/sshd.ts';

/**
 * Secrets given in the environment never reach a child process's environment:
 * every command the CLI starts (ssh-keyscan), every command the local probe
 * shell runs, every command systeminformation runs, is found through PATH
 * shims that log the environment they were given.
 */

const bin = resolve(import.meta.dirname, '../../installer/bin/palisade.js');
const dir = mkdtempSync(join(tmpdir(), 'palisade-secret-env-'));
const shims = join(dir, 'shims');
const logs = join(dir, 'logs');
const SECRETS = {
  PALISADE_PASSPHRASE: 'env-secret-passphrase-1',
  PALISADE_SUDO_PASSWORD: 'env-secret-sudo-2',
  PALISADE_REGISTRY_PASSWORD: 'env-secret-registry-3',
  PALISADE_SSH_KEY_PASSPHRASE: 'env-secret-keypass-4',
};
// systeminformation (lsblk, ...), the local probe (ip, sysctl, ...), the trust check (ssh-keyscan)
const SHIMMED = ['lsblk', 'ip', 'sysctl', 'cat', 'uname', 'awk', 'sed', 'grep', 'ss', 'lscpu', 'dmidecode', 'hostname', 'ssh-keyscan'];

let sshd: Sshd;
beforeAll(async () => {
  mkdirSync(shims);
  mkdirSync(logs);
  for (const name of SHIMMED) {
    const real = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim();
    if (!real.startsWith('/')) continue;
    writeFileSync(join(shims, name), `#!/bin/sh\n/usr/bin/env > ${logs}/${name}.$$\nexec ${real} "$@"\n`);
    chmodSync(join(shims, name), 0o755);
  }
  sshd = await startSshd();
}, 60_000);
afterAll(async () => {
  await sshd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function palisade(args: string[]): { status: number | null; out: string } {
  const r = spawnSync('node', [bin, ...args], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, ...SECRETS, PATH: `${shims}:${process.env.PATH}` },
  });
  return { status: r.status, out: r.stdout + r.stderr };
}

/** the logged environments of one shimmed command */
const seen = (name: string): string[] =>
  readdirSync(logs)
    .filter((f) => f.startsWith(`${name}.`))
    .map((f) => readFileSync(join(logs, f), 'utf8'));

describe('secrets in the environment', () => {
  it('preflight --local: neither the probe shell nor systeminformation passes them on', () => {
    const cfg = join(dir, 'local.yaml');
    writeFileSync(
      cfg,
      'apiVersion: palisade/v1\ncluster: { name: env, fqdn: env.lab.internal }\nhosts:\n  - { name: h1, address: 127.0.0.1, role: controller }\n',
    );
    const r = palisade(['preflight', '--local', '-c', cfg, '-o', 'json']);
    expect(r.out).toContain('"findings"');
    // the shims ran: systeminformation's lsblk, the probe's own commands
    expect(seen('lsblk').length).toBeGreaterThan(0);
    expect([...seen('ip'), ...seen('sysctl')].length).toBeGreaterThan(0);
  });

  it('a host under a known_hosts @cert-authority: ssh-keyscan does not get them', () => {
    const known = join(dir, 'known_hosts');
    writeFileSync(known, `@cert-authority [127.0.0.1]:${sshd.port} ${sshd.keys.other.pub}\n`);
    const cfg = join(dir, 'remote.yaml');
    writeFileSync(
      cfg,
      `apiVersion: palisade/v1\ncluster: { name: env, fqdn: env.lab.internal }\nssh: { knownHosts: ${known} }\nhosts:\n  - { name: h1, address: 127.0.0.1, port: ${sshd.port}, role: controller, privateKey: ${sshd.keys.ed25519.path} }\n`,
    );
    const r = palisade(['hosts', 'check', '-c', cfg]);
    expect(r.out).toMatch(/certificate/);
    expect(seen('ssh-keyscan').length).toBeGreaterThan(0);
  });

  it('no child saw any secret variable, by name or by value', () => {
    const all = readdirSync(logs).map((f) => ({ f, text: readFileSync(join(logs, f), 'utf8') }));
    expect(all.length).toBeGreaterThan(2);
    for (const { f, text } of all) {
      for (const [name, value] of Object.entries(SECRETS)) {
        expect(text, `${f} saw ${name}`).not.toContain(name);
        expect(text, `${f} saw the value of ${name}`).not.toContain(value);
      }
    }
    expect(existsSync(shims)).toBe(true);
  });
});
