import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * scripts/setup on a machine it must be careful with, with every system command
 * replaced by a shim that records its arguments: apt locked by another process,
 * registries of running labs, an old Node.
 */
const SETUP = resolve(import.meta.dirname, '../../scripts/setup');

function sandbox(o: { nodeMajor?: number; lockedChecks?: number; lockWait?: number } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-setup-'));
  const bin = join(dir, 'bin');
  mkdirSync(join(dir, 'repo', 'scripts'), { recursive: true });
  mkdirSync(bin);
  copyFileSync(SETUP, join(dir, 'repo', 'scripts', 'setup'));
  writeFileSync(join(dir, 'repo', 'package-lock.json'), '{}');
  const log = join(dir, 'calls.log');
  const shim = (name: string, body = '') => {
    writeFileSync(join(bin, name), `#!/bin/bash\necho "${name} $*" >> ${log}\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  shim('node', `if [ "$1" = -p ]; then echo ${o.nodeMajor ?? 20}; elif [ "$1" = --version ]; then echo v${o.nodeMajor ?? 20}.0.0; fi`);
  shim('npm', 'mkdir -p node_modules');
  // one package is missing, so apt runs
  shim('dpkg-query', `[ "$3" = skopeo ] && exit 1; echo 'install ok installed'`);
  shim('apt-cache', 'exit 1');
  shim('apt-get');
  shim('sleep');
  shim('systemctl');
  shim('pgrep');
  shim('pkill');
  shim('killall');
  shim('kill');
  // the lock is held for the first N checks
  shim('fuser', `n=$(grep -c '^fuser' ${log}); [ "$n" -le ${o.lockedChecks ?? 0} ]`);
  for (const real of ['bash', 'mkdir', 'cat', 'cut', 'grep', 'sha256sum', 'dirname', 'env']) {
    const p = spawnSync('bash', ['-c', `command -v ${real}`], { encoding: 'utf8' }).stdout.trim();
    if (p) spawnSync('ln', ['-s', p, join(bin, real)]);
  }
  const r = spawnSync('bash', [join(dir, 'repo', 'scripts', 'setup')], {
    encoding: 'utf8',
    env: { PATH: bin, HOME: dir, ...(o.lockWait !== undefined ? { APT_LOCK_WAIT: String(o.lockWait) } : {}) },
    timeout: 30_000,
  });
  let calls = '';
  try {
    calls = readFileSync(log, 'utf8');
  } catch {}
  return { ...r, calls };
}

describe('scripts/setup', () => {
  it('waits for a held apt lock, saying so, then installs', () => {
    const r = sandbox({ lockedChecks: 3 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/another apt\/dpkg process holds the package lock .*waiting up to 300 s/);
    expect(r.calls).toMatch(/^apt-get -o DPkg::Lock::Timeout=300 install .*skopeo/m);
  });

  it('gives up after the bounded wait with a clear sentence', () => {
    const r = sandbox({ lockedChecks: 1000, lockWait: 10 });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/the package lock is still held after 10 s/);
    expect(r.calls).not.toMatch(/^apt-get .* install/m);
  });

  it('stops only the Debian registry unit and its own process, never every docker-registry', () => {
    const r = sandbox();
    expect(r.status, r.stderr).toBe(0);
    expect(r.calls).not.toMatch(/^(pkill|killall) /m);
    expect(r.calls).toMatch(/^systemctl disable --now docker-registry\.service$/m);
    expect(r.calls).toMatch(/^pgrep -x -f \/usr\/bin\/docker-registry serve \/etc\/docker\/registry\/config\.yml$/m);
  });

  it('stops with a sentence when Node is older than 20', () => {
    const r = sandbox({ nodeMajor: 18 });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/palisade needs Node\.js 20 or newer with npm \(found: v18\.0\.0\); Debian 12's own nodejs package is 18/);
    expect(r.calls).not.toMatch(/^apt-get /m);
  });
});
