import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/** `palisade install` flags, as an operator meets them (no host is reached). */
const bin = resolve(import.meta.dirname, '../../installer/bin/palisade.js');
const dir = mkdtempSync(join(tmpdir(), 'palisade-install-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(
  join(dir, 'palisade.yaml'),
  `apiVersion: palisade/v1
cluster: { name: cli, fqdn: palisade.cli.internal }
hosts:
  - { name: h1, address: 127.0.0.1, port: 1, role: controller }
`,
);
const run = (...args: string[]) =>
  spawnSync('node', [bin, 'install', '-c', join(dir, 'palisade.yaml'), ...args], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });

describe('palisade install (CLI flags)', () => {
  it('--help lists the phase names --from and --only take, in order', () => {
    const r = spawnSync('node', [bin, 'install', '--help'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(
      /Phases, in order \(names for --from and --only\):\n {2}bundle, connect, facts, preflight, .*cluster, secrets, .*verify, report\n/,
    );
  });

  it('a wrong --only is a usage error (exit 2) before the confirmation is asked for', () => {
    const r = run('--bundle', join(dir, 'no-bundle'), '--only', 'bogus');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--only bogus: no such phase/);
    expect(r.stderr).toMatch(/phases: bundle, connect, /);
    expect(r.stderr).not.toMatch(/confirm/);
  });

  it('with good flags the install runs: here it stops at the missing trusted key, naming the setting', () => {
    const r = run('--bundle', join(dir, 'no-bundle'), '--dry-run');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/has no bundle\.trustedKey/);
  });

  // `script` gives the run a terminal: the task tree is drawn, in colour unless NO_COLOR is set
  const SCRIPT = spawnSync('bash', ['-c', 'command -v script'], { encoding: 'utf8' }).stdout.trim();
  it.skipIf(!SCRIPT)('on a terminal the task tree is in colour, and without any with NO_COLOR', () => {
    writeFileSync(join(dir, 'k.pub'), generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
    const { CI: _ci, NO_COLOR: _nc, ...env } = process.env;
    const onTerminal = (extra: Record<string, string>) =>
      spawnSync(
        SCRIPT,
        [
          '-qec',
          `stty cols 160 rows 40; node ${bin} install -c ${join(dir, 'palisade.yaml')} --bundle ${join(dir, 'no-bundle')} --trusted-key ${join(dir, 'k.pub')} --dry-run`,
          '/dev/null',
        ],
        { encoding: 'utf8', env: { ...env, ...extra }, timeout: 60_000 },
      );
    const colour = /\x1b\[[\d;]*[349]\dm/;
    const plain = onTerminal({});
    expect(plain.stdout).toMatch(colour);
    const none = onTerminal({ NO_COLOR: '1' });
    expect(none.stdout).toMatch(/✖ .*bundle/i); // the tree was drawn
    expect(none.stdout).not.toMatch(colour);
  });

  it('--from and --only together are refused the same way', () => {
    const r = run('--bundle', join(dir, 'no-bundle'), '--from', 'keys', '--only', 'seed', '--yes');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/give --from or --only, not both/);
  });
});
