#!/usr/bin/env node
// `npm run build`: compile the installer into one CommonJS file, dist/palisade.cjs, that
// runs with nothing but Node (no node_modules, no tsx). The same file is the single
// executable's script (scripts/build/sea.mjs), so what the tests run is what ships.
// Plain JavaScript on purpose: the palisade entry calls it to rebuild stale output
// before TypeScript tooling is involved.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DIST = join(ROOT, 'dist');
export const COMPILED = join(DIST, 'palisade.cjs');
export const STAMP = join(DIST, 'build.json');

/** What the compiled output is made from: a change to any of these makes dist/ stale. */
const INPUT_DIRS = ['installer', 'manifests', 'scripts/build'];
const INPUT_FILES = ['package.json', 'package-lock.json', 'tsconfig.json'];

function walk(dir, out) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** Files whose content is read at run time (embedded in the single executable). */
export function resourceFiles(root = ROOT) {
  return walk(join(root, 'manifests'), [])
    .map((p) => relative(root, p))
    .filter((p) => p.endsWith('.yaml'))
    .sort();
}

/**
 * A cheap fingerprint of the inputs (path, size and modification time of each): the
 * entry checks it on every start, so it must cost a few milliseconds, not a hash of
 * every source file.
 */
export function sourceFingerprint(root = ROOT) {
  const files = INPUT_DIRS.flatMap((d) => walk(join(root, d), [])).concat(INPUT_FILES.map((f) => join(root, f)));
  const parts = [];
  for (const f of files.sort()) {
    try {
      const st = statSync(f);
      parts.push(`${relative(root, f)}\0${st.size}\0${st.mtimeMs}`);
    } catch {
      parts.push(`${relative(root, f)}\0missing`);
    }
  }
  return parts.join('\n');
}

/**
 * The commit the build is made from; `-dirty` when the inputs differ from it. zx is loaded here,
 * not at the top: this module is imported on every start from a checkout, which must stay cheap.
 */
export async function buildCommit(root = ROOT) {
  const { $ } = await import('zx');
  const git = async (...args) => {
    const r = await $({ cwd: root, quiet: true, nothrow: true, timeout: '30s' })`git ${args}`;
    return r.ok ? r.stdout.trim() : undefined;
  };
  const head = await git('rev-parse', '--short=12', 'HEAD');
  if (!head) return 'unknown';
  const dirty = await git('status', '--porcelain', '--', ...INPUT_DIRS, ...INPUT_FILES);
  return dirty ? `${head}-dirty` : head;
}

/** Is dist/palisade.cjs built from the sources as they are now? */
export function isFresh(root = ROOT) {
  try {
    const stamp = JSON.parse(readFileSync(join(root, 'dist', 'build.json'), 'utf8'));
    return stamp.fingerprint === sourceFingerprint(root) && existsSync(join(root, 'dist', 'palisade.cjs'));
  } catch {
    return false;
  }
}

/**
 * Native addons that are optional for their packages (ssh2's cpu-features and its
 * sshcrypto binding): left out, so the output needs no compiled files next to it and
 * the packages take their pure JavaScript paths (their `require` of them fails and is caught).
 */
const leaveOutNativeAddons = {
  name: 'leave-out-native-addons',
  setup(b) {
    b.onResolve({ filter: /^cpu-features$|\.node$/ }, (a) => ({ path: a.path, namespace: 'left-out' }));
    b.onLoad({ filter: /.*/, namespace: 'left-out' }, (a) => ({
      contents: `throw new Error(${JSON.stringify(`${a.path} is left out of the palisade build`)});`,
      loader: 'js',
    }));
  },
};

/**
 * The compiled program is CommonJS and the executable has no checkout: a module that finds
 * files by `import.meta.url` would break there. Only core/build-info.ts may (for the source case).
 */
const noImportMeta = {
  name: 'no-import-meta',
  setup(b) {
    b.onLoad({ filter: /[\\/]installer[\\/].*\.ts$/ }, (a) => {
      if (a.path.endsWith(join('core', 'build-info.ts'))) return undefined;
      const text = readFileSync(a.path, 'utf8');
      if (!/import\.meta\b/.test(text)) return undefined;
      return {
        errors: [
          {
            text: `${relative(ROOT, a.path)} uses import.meta: read run-time files with readResource() and the version with buildInfo() from installer/core/build-info.ts`,
          },
        ],
      };
    });
  },
};

/** Compile dist/palisade.cjs (written under a temporary name, then renamed: a concurrent start never sees half a file). */
export async function buildCompiled({ root = ROOT, quiet = false } = {}) {
  const { build } = await import('esbuild');
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const fingerprint = sourceFingerprint(root);
  const info = { version: pkg.version, commit: await buildCommit(root), builtAt: new Date().toISOString(), resources: resourceFiles(root) };
  const dist = join(root, 'dist');
  mkdirSync(dist, { recursive: true });
  const tmp = join(dist, `.palisade.cjs.${process.pid}`);
  const started = Date.now();
  await build({
    entryPoints: [join(root, 'installer', 'main.ts')],
    outfile: tmp,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'eof',
    define: { PALISADE_BUILD: JSON.stringify(info) },
    // build-info.ts reads import.meta.url only when running from source
    logOverride: { 'empty-import-meta': 'silent' },
    plugins: [leaveOutNativeAddons, noImportMeta],
    logLevel: 'warning',
  });
  rmSync(join(dist, 'palisade.cjs.v8cache'), { force: true });
  renameSync(tmp, join(dist, 'palisade.cjs'));
  writeFileSync(join(dist, 'build.json'), JSON.stringify({ ...info, fingerprint }, null, 2) + '\n');
  if (!quiet) {
    const size = statSync(join(dist, 'palisade.cjs')).size;
    process.stderr.write(
      `built dist/palisade.cjs (${(size / 2 ** 20).toFixed(1)} MiB, ${info.version}, commit ${info.commit}) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
    );
  }
  return info;
}

/** Rebuild when the sources changed since the last build; returns whether it built. */
export async function ensureBuilt(opts = {}) {
  if (isFresh(opts.root ?? ROOT)) return false;
  await buildCompiled(opts);
  return true;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(
      'usage: node scripts/build/build.mjs [--if-stale]\n\nCompile the installer to dist/palisade.cjs (one CommonJS file, runs with plain Node).\n--if-stale  only when the sources changed since the last build\n',
    );
  } else if (args.includes('--if-stale')) {
    await ensureBuilt();
  } else {
    await buildCompiled();
  }
}
