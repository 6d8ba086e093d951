#!/usr/bin/env node
// The checkout's `palisade`: runs the compiled program (dist/palisade.cjs), rebuilding it
// first when the sources changed since it was built, so a stale build never runs. The
// compiled file is loaded with a V8 code cache next to it: most of a start-up is
// otherwise spent compiling 2–3 MiB of JavaScript.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const compiled = join(root, 'dist', 'palisade.cjs');
const codeCache = `${compiled}.v8cache`;

// from a checkout (sources present) the build must match them; a package holds dist/ only
if (existsSync(join(root, 'installer', 'main.ts')) && existsSync(join(root, 'scripts', 'build', 'build.mjs'))) {
  const build = await import('../../scripts/build/build.mjs');
  if (!build.isFresh(root)) {
    try {
      await build.buildCompiled({ root, quiet: true });
    } catch (e) {
      process.stderr.write(`palisade: the sources changed and the build failed (${e instanceof Error ? e.message : e}); run \`npm run build\` to see why\n`);
      process.exit(70);
    }
  }
}

const require = createRequire(compiled);
const vm = require('node:vm');
const Module = require('node:module');
const source = readFileSync(compiled, 'utf8');
// V8 accepts a cache made for another source of the same length: the cache names its build
let buildId = '';
try {
  buildId = JSON.parse(readFileSync(join(root, 'dist', 'build.json'), 'utf8')).builtAt ?? '';
} catch {
  buildId = '';
}
const header = Buffer.from(`palisade ${buildId}\n`);
let cachedData;
try {
  const c = readFileSync(codeCache);
  if (buildId && c.subarray(0, header.length).equals(header)) cachedData = c.subarray(header.length);
} catch {
  cachedData = undefined;
}
const script = new vm.Script(Module.wrap(source), { filename: compiled, cachedData });
if (buildId && (cachedData === undefined || script.cachedDataRejected)) {
  // written at exit, so the functions this run compiled are in it; atomic for concurrent starts
  process.once('exit', () => {
    try {
      const tmp = `${codeCache}.${process.pid}`;
      writeFileSync(tmp, Buffer.concat([header, script.createCachedData()]));
      renameSync(tmp, codeCache);
    } catch {
      // a read-only install runs without the cache
    }
  });
}
const mod = { exports: {}, filename: compiled, id: compiled, loaded: false };
script.runInThisContext().call(mod.exports, mod.exports, require, mod, compiled, dirname(compiled));
