/**
 * Which single executable `palisade bundle build` puts into bin/palisade: the one given,
 * this process itself when it is the executable, or the checkout's dist/palisade when it
 * was built from the same sources as the running program (never a stale one).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildInfo, isExecutable, packageRoot } from '../core/build-info.ts';
import { usageError } from '../core/errors.ts';

export interface ExecutableChoice {
  path: string;
  version: string;
}

const readJson = (p: string): { fingerprint?: string } | undefined => {
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as { fingerprint?: string };
  } catch {
    return undefined;
  }
};

export function resolveExecutable(explicit?: string): ExecutableChoice {
  const version = buildInfo().version;
  if (explicit !== undefined) {
    if (!existsSync(explicit))
      throw usageError(
        'bundle.executable-missing',
        `--executable ${explicit} does not exist`,
        'build it with `npm run build:exe` (dist/palisade), or pass --no-executable',
      );
    return { path: explicit, version };
  }
  if (isExecutable()) return { path: process.execPath, version };
  const dist = join(packageRoot(), 'dist');
  const exe = join(dist, 'palisade');
  const built = readJson(join(dist, 'palisade.exe.json'));
  const compiled = readJson(join(dist, 'build.json'));
  if (!existsSync(exe) || !built)
    throw usageError(
      'bundle.executable-missing',
      'no single executable to put into bin/palisade',
      'run `npm run build:exe` first (writes dist/palisade), pass --executable FILE, or --no-executable to build a bundle without it',
    );
  if (buildInfo().kind === 'source' || built.fingerprint !== compiled?.fingerprint) {
    throw usageError('bundle.executable-stale', `${exe} is not built from the current sources`, 'run `npm run build:exe` again, or pass --executable FILE');
  }
  return { path: exe, version };
}
