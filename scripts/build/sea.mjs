#!/usr/bin/env node
// `npm run build:exe`: the single executable, dist/palisade. A copy of this machine's node
// binary with the compiled program (dist/palisade.cjs, CommonJS) injected as a Node SEA blob,
// its V8 code cache, and the run-time files (manifests/) as SEA assets; it runs on a Linux
// jump host with nothing else installed. Rebuilt only when the sources changed.
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { $ } from 'zx';
import { DIST, ROOT, ensureBuilt, resourceFiles, sourceFingerprint } from './build.mjs';

export const EXECUTABLE = join(DIST, 'palisade');
const STAMP = join(DIST, 'palisade.exe.json');
// the sentinel Node's SEA loader looks for (documented with node's single-executable-applications)
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

const sha256File = (p) => createHash('sha256').update(readFileSync(p)).digest('hex');

function stampMatches(fingerprint) {
  try {
    const s = JSON.parse(readFileSync(STAMP, 'utf8'));
    return s.fingerprint === fingerprint && s.node === process.version && s.sha256 === sha256File(EXECUTABLE);
  } catch {
    return false;
  }
}

/** Build dist/palisade if it is missing or older than the sources; returns its path, size and SHA-256. */
export async function buildExecutable({ force = false, quiet = false } = {}) {
  await ensureBuilt({ quiet });
  const fingerprint = sourceFingerprint();
  if (!force && stampMatches(fingerprint)) {
    const s = JSON.parse(readFileSync(STAMP, 'utf8'));
    return { path: EXECUTABLE, bytes: statSync(EXECUTABLE).size, sha256: s.sha256, built: false };
  }
  const started = Date.now();
  const blob = join(DIST, 'palisade.sea.blob');
  const config = join(DIST, 'sea-config.json');
  const assets = Object.fromEntries(resourceFiles().map((r) => [r, join(ROOT, r)]));
  writeFileSync(
    config,
    JSON.stringify({ main: join(DIST, 'palisade.cjs'), output: blob, disableExperimentalSEAWarning: true, useCodeCache: true, assets }, null, 2),
  );
  await $({ cwd: ROOT, quiet: true, timeout: '5m' })`${process.execPath} --experimental-sea-config ${config}`;
  const tmp = `${EXECUTABLE}.${process.pid}.tmp`;
  copyFileSync(process.execPath, tmp);
  chmodSync(tmp, 0o755);
  const { inject } = createRequire(import.meta.url)('postject');
  await inject(tmp, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: SEA_FUSE });
  renameSync(tmp, EXECUTABLE);
  rmSync(blob, { force: true });
  const sha256 = sha256File(EXECUTABLE);
  const bytes = statSync(EXECUTABLE).size;
  writeFileSync(STAMP, JSON.stringify({ fingerprint, node: process.version, sha256, bytes }, null, 2) + '\n');
  if (!quiet)
    process.stderr.write(
      `built dist/palisade (${(bytes / 2 ** 20).toFixed(1)} MiB, Node ${process.version}) in ${((Date.now() - started) / 1000).toFixed(1)} s\nsha256 ${sha256}\n`,
    );
  return { path: EXECUTABLE, bytes, sha256, built: true };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(
      'usage: node scripts/build/sea.mjs [--force]\n\nBuild the single executable dist/palisade (Node SEA from dist/palisade.cjs, manifests/ embedded).\nSkips the work when dist/palisade is already built from the current sources; --force rebuilds.\n',
    );
  } else {
    const r = await buildExecutable({ force: args.includes('--force') });
    if (!r.built) process.stderr.write(`dist/palisade is up to date (sha256 ${r.sha256})\n`);
  }
}
