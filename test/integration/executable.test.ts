// The single executable alone on a "jump host": copied into an empty directory, run with a
// PATH that has no node and no checkout near it, it must give the checkout's results.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildExecutable } from '../../scripts/build/sea.mjs';
import { buildTestBundle, checkoutExecutable, REPO_ROOT, type TestBundle } from '../../scripts/bundle/build-test-bundle.ts';

const checkoutBin = join(REPO_ROOT, 'installer/bin/palisade.js');
const work = mkdtempSync(join(tmpdir(), 'palisade-exe-'));
const site = join(work, 'site'); // the jump host: the executable and the operator's files, nothing else
const home = join(work, 'home');
const pathDir = join(work, 'path');
const sha256 = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');
let bundle: TestBundle;
let exe: string;

/** A PATH directory with this machine's tools except node and its package managers. */
function pathWithoutNode(): string {
  mkdirSync(pathDir);
  for (const dir of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      if (/^(node|nodejs|npm|npx|corepack|tsx)$/.test(name) || existsSync(join(pathDir, name))) continue;
      symlinkSync(join(dir, name), join(pathDir, name));
    }
  }
  return pathDir;
}

let env: NodeJS.ProcessEnv;
const onSite = (args: string[], cwd = site): SpawnSyncReturns<string> => spawnSync(exe, args, { cwd, env, encoding: 'utf8', timeout: 120_000 });
const fromCheckout = (args: string[], cwd: string): SpawnSyncReturns<string> =>
  spawnSync(process.execPath, [checkoutBin, ...args], { cwd, env: { ...env, PATH: process.env.PATH }, encoding: 'utf8', timeout: 120_000 });
/** the same command from both programs, each in its own copy of the operator's directory */
function both(args: string[], setup: (dir: string) => void = () => undefined) {
  const a = join(work, `a-${args[0]}`);
  const b = join(work, `b-${args[0]}`);
  for (const d of [a, b]) {
    mkdirSync(d, { recursive: true });
    setup(d);
  }
  return { exe: onSite(args, a), checkout: fromCheckout(args, b), dirs: { exe: a, checkout: b } };
}

beforeAll(async () => {
  await buildExecutable({ quiet: true });
  // a small bundle carrying the executable, as a release does
  bundle = await buildTestBundle({ workDir: join(work, 'bundle-work'), images: 1, layers: 1, layerSize: 64 << 10, executable: await checkoutExecutable() });
  mkdirSync(site);
  mkdirSync(join(home, '.ssh'), { recursive: true });
  // the operator takes the executable out of the bundle: nothing else comes along
  exe = join(site, 'palisade');
  copyFileSync(join(bundle.path, 'bin', 'palisade'), exe);
  spawnSync('chmod', ['0755', exe]);
  writeFileSync(
    join(home, '.ssh', 'id_ed25519'),
    spawnSync('sh', ['-c', `ssh-keygen -q -t ed25519 -N '' -f ${join(work, 'k')} && cat ${join(work, 'k')}`], { encoding: 'utf8' }).stdout,
    { mode: 0o600 },
  );
  env = { PATH: pathWithoutNode(), HOME: home, LANG: 'C.UTF-8', PALISADE_PASSPHRASE: 'correct horse battery staple' };
}, 300_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the single executable on a host without node', () => {
  it('the site has no node, no node_modules and no checkout', () => {
    expect(spawnSync('sh', ['-c', 'command -v node || command -v npm'], { env, encoding: 'utf8' }).status).not.toBe(0);
    for (let d = site; d !== dirname(d); d = dirname(d)) expect(existsSync(join(d, 'node_modules')), d).toBe(false);
    expect(readdirSync(site)).toEqual(['palisade']);
  });

  it('--version: the version and commit of the checkout build it was made from', () => {
    const e = onSite(['--version']);
    const c = fromCheckout(['--version'], work);
    expect(e.status).toBe(0);
    expect(e.stdout).toMatch(/^\d+\.\d+\.\d+ \(commit [0-9a-f]{12}(-dirty)?, executable\)\n$/);
    expect(e.stdout.replace('executable', 'compiled')).toBe(c.stdout);
  });

  it('init writes the same palisade.yaml', () => {
    const r = both(['init', '--cluster', 'dc1', '--fqdn', 'palisade.dc1.example']);
    expect([r.exe.status, r.checkout.status]).toEqual([0, 0]);
    expect(r.exe.stdout).toBe(r.checkout.stdout);
    expect(readFileSync(join(r.dirs.exe, 'palisade.yaml'), 'utf8')).toBe(readFileSync(join(r.dirs.checkout, 'palisade.yaml'), 'utf8'));
  });

  it('validate: the same verdict on a good config and the same field errors on a bad one', () => {
    const good = both(['validate'], (d) => copyFileSync(join(work, 'a-init', 'palisade.yaml'), join(d, 'palisade.yaml')));
    expect(good.exe.status).toBe(good.checkout.status);
    expect(good.exe.stdout + good.exe.stderr).toBe(good.checkout.stdout + good.checkout.stderr);
    const bad = both(['validate'], (d) => writeFileSync(join(d, 'palisade.yaml'), 'apiVersion: palisade/v1\ncluster: { name: "Bad Name" }\nhosts: []\n'));
    expect(bad.exe.status).toBe(2);
    expect(bad.exe.stderr).toContain('cluster.name');
    expect(bad.exe.stderr).toBe(bad.checkout.stderr);
  });

  it('bundle verify: the executable checks the bundle it came in; the SHA-256 it was published with matches', () => {
    const r = onSite(['bundle', 'verify', bundle.path, '--trusted-key', bundle.publicKeyPath, '-o', 'json']);
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { ok: boolean; files: number };
    expect(report.ok).toBe(true);
    const manifest = bundle.build.manifest.components.binaries.find((b) => b.path === 'bin/palisade');
    expect(manifest?.sha256).toBe(sha256(exe));
    const c = fromCheckout(['bundle', 'verify', bundle.path, '--trusted-key', bundle.publicKeyPath, '-o', 'json'], work);
    expect({ ...report, durationMs: 0 }).toEqual({ ...(JSON.parse(c.stdout) as object), durationMs: 0 });
    // and refuses the same tampering
    const tampered = join(work, 'tampered');
    spawnSync('cp', ['-a', bundle.path, tampered]);
    writeFileSync(join(tampered, 'bin', 'registry'), 'not the registry');
    const t = onSite(['bundle', 'verify', tampered, '--trusted-key', bundle.publicKeyPath]);
    expect(t.status).toBe(1);
    expect(t.stderr).toContain('bin/registry');
  });

  it('keys generate writes a keystore the checkout opens', () => {
    const r = both(['keys', 'generate'], (d) => copyFileSync(join(work, 'a-init', 'palisade.yaml'), join(d, 'palisade.yaml')));
    expect(r.exe.status, r.exe.stderr).toBe(0);
    expect(r.checkout.status, r.checkout.stderr).toBe(0);
    const listed = fromCheckout(['keys', 'list', '-o', 'json'], r.dirs.exe);
    const own = fromCheckout(['keys', 'list', '-o', 'json'], r.dirs.checkout);
    expect(listed.status, listed.stderr).toBe(0);
    const names = (s: string) => (JSON.parse(s) as { entries: { name: string }[] }).entries.map((k) => k.name).sort();
    expect(names(listed.stdout)).toEqual(names(own.stdout));
    expect(names(listed.stdout).length).toBeGreaterThan(5);
  });

  it('preflight --local: the same checks with the same verdicts', () => {
    const r = both(['preflight', '--local', '--no-disk-probe', '-o', 'json'], (d) =>
      copyFileSync(join(work, 'a-init', 'palisade.yaml'), join(d, 'palisade.yaml')),
    );
    expect(r.exe.status).toBe(r.checkout.status);
    const verdicts = (s: string) =>
      (JSON.parse(s) as { findings: { id: string; host?: string; status: string }[] }).findings.map((f) => `${f.host ?? ''} ${f.id} ${f.status}`).sort();
    expect(verdicts(r.exe.stdout)).toEqual(verdicts(r.checkout.stdout));
    expect(verdicts(r.exe.stdout).length).toBeGreaterThan(5);
  });
});
