// The compiled program: heavy modules load only for the commands that need them, and the
// checkout's entry never runs a build older than the sources.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPILED, ensureBuilt } from '../../scripts/build/build.mjs';
import { REPO_ROOT } from '../../scripts/bundle/build-test-bundle.ts';

const work = mkdtempSync(join(tmpdir(), 'palisade-build-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
beforeAll(async () => {
  await ensureBuilt({ quiet: true });
}, 120_000);

// Runs the compiled file with esbuild's lazy-module helpers wrapped so that every module
// initialised during the run is written down (a module that is imported lazily anywhere
// is wrapped; CommonJS packages always are).
const RECORDER = `
const fs = require('node:fs'), vm = require('node:vm'), Module = require('node:module');
const file = process.argv[1];
let src = fs.readFileSync(file, 'utf8');
// esbuild renames the helpers' parameters when a module uses the same name (mod -> mod4)
const esm = /var __esm=\\((\\w+),(\\w+),(\\w+)\\)=>function\\(\\)\\{/, cjs = /var __commonJS=\\((\\w+),(\\w+)\\)=>function\\(\\)\\{/;
if (!esm.test(src) || !cjs.test(src)) { console.error('helpers not found'); process.exit(99); }
const seen = globalThis.__palisadeSeen = [];
src = src.replace(esm, (m, fn) => m + fn + '&&globalThis.__palisadeSeen.push(__getOwnPropNames(' + fn + ')[0]);').replace(cjs, (m, cb, mod) => m + mod + '||globalThis.__palisadeSeen.push(__getOwnPropNames(' + cb + ')[0]);');
process.on('exit', () => fs.writeFileSync(process.env.SEEN_FILE, JSON.stringify(seen)));
new vm.Script(Module.wrap(src), { filename: file }).runInThisContext()({}, Module.createRequire(file), { exports: {} }, file, require('node:path').dirname(file));
`;
const HEAVY = [
  /^node_modules\/ssh2\//,
  /^node_modules\/node-forge\//,
  /^node_modules\/listr2\//,
  /^node_modules\/systeminformation\//,
  /^installer\/registry\//,
  /^installer\/bundle\/(verify|build|open|source)\.ts$/,
  /^installer\/hosts\//,
];

function modulesLoadedBy(args: string[], cwd = work): string[] {
  const seenFile = join(work, `seen-${args.join('-').replace(/\W+/g, '_')}.json`);
  const r = spawnSync(process.execPath, ['-e', RECORDER, COMPILED, ...args], { cwd, env: { ...process.env, SEEN_FILE: seenFile }, encoding: 'utf8' });
  expect(r.status, r.stderr).not.toBe(99);
  return JSON.parse(readFileSync(seenFile, 'utf8')) as string[];
}

describe('the compiled program', () => {
  it('every heavy module is loaded lazily, and --version and validate load none of them', () => {
    const source = readFileSync(COMPILED, 'utf8');
    for (const h of HEAVY) {
      const wrapped = [...source.matchAll(/"((?:node_modules|installer)\/[^"]+)"\(/g)].map((m) => m[1] ?? '').filter((k) => h.test(k));
      expect(wrapped.length, `${h} is bundled as a lazily initialised module`).toBeGreaterThan(0);
    }
    writeFileSync(
      join(work, 'palisade.yaml'),
      readFileSync(join(REPO_ROOT, 'images/release/palisade.yaml'), 'utf8').replace(
        /[\s\S]*/,
        'apiVersion: palisade/v1\ncluster: { name: dc1, fqdn: p.dc1.example }\nhosts: []\n',
      ),
    );
    for (const args of [['--version'], ['validate']]) {
      const loaded = modulesLoadedBy(args);
      expect(loaded.length, 'the recorder saw module initialisation').toBeGreaterThan(0);
      expect(
        loaded.filter((m) => HEAVY.some((h) => h.test(m))),
        args.join(' '),
      ).toEqual([]);
    }
    // and the recorder does see them when a command needs them
    const verify = modulesLoadedBy(['bundle', 'verify', join(work, 'no-such-bundle'), '--trusted-key', join(work, 'none.pub')]);
    expect(verify.some((m) => m.startsWith('installer/bundle/verify.ts'))).toBe(true);
    // the config's schemas (tens of ms to build) only for the commands that read a config
    const config = /^installer\/config\/(schema|load)\.ts$/;
    expect(modulesLoadedBy(['--version']).filter((m) => config.test(m))).toEqual([]);
    expect(verify.filter((m) => config.test(m))).toEqual([]);
    expect(
      modulesLoadedBy(['validate'])
        .filter((m) => config.test(m))
        .sort(),
    ).toEqual(['installer/config/load.ts', 'installer/config/schema.ts']);
  });

  it('the checkout entry rebuilds when a source changed, before running', () => {
    const copy = join(work, 'checkout');
    for (const p of ['installer', 'manifests', 'scripts/build', 'package.json', 'package-lock.json', 'tsconfig.json'])
      cpSync(join(REPO_ROOT, p), join(copy, p), { recursive: true });
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(copy, 'node_modules'));
    const version = () => spawnSync(process.execPath, [join(copy, 'installer/bin/palisade.js'), '--version'], { encoding: 'utf8', timeout: 120_000 });
    const first = version();
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/, compiled\)\n$/);
    const pkg = JSON.parse(readFileSync(join(copy, 'package.json'), 'utf8')) as { version: string };
    writeFileSync(join(copy, 'package.json'), JSON.stringify({ ...pkg, version: '9.8.7' }));
    expect(version().stdout).toMatch(/^9\.8\.7 /);
    // a source edit, too
    const cli = join(copy, 'installer/cli.ts');
    writeFileSync(cli, readFileSync(cli, 'utf8').replace("'print the palisade version", "'print the version of palisade"));
    const help = spawnSync(process.execPath, [join(copy, 'installer/bin/palisade.js'), '--help'], { encoding: 'utf8' });
    expect(help.stdout).toContain('print the version of palisade');
  });
});
