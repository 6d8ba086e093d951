/**
 * What this program is: its version, the commit it was built from, and where its
 * run-time files (manifests/ templates) come from. `npm run build` fills these in
 * (esbuild `define`); from source they are read from the checkout. Nothing else in
 * installer/ may locate package.json or the repository by its own path.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Filled in by the build; absent when running from source. */
declare const PALISADE_BUILD: { version: string; commit: string; builtAt: string; resources: string[] } | undefined;

export interface BuildInfo {
  version: string;
  /** git commit of the build (`-dirty` when the tree had changes), or 'source' when running from the checkout */
  commit: string;
  /** 'executable' (single executable), 'compiled' (the bundled entry) or 'source' (tsx) */
  kind: 'executable' | 'compiled' | 'source';
}

type SeaModule = { isSea(): boolean; getAsset(key: string, encoding: string): string };
let sea: SeaModule | undefined | null = null;
/** node:sea when this process is the single executable; `require` only exists in the compiled (CommonJS) forms. */
function seaModule(): SeaModule | undefined {
  if (sea !== null) return sea;
  sea = undefined;
  if (typeof PALISADE_BUILD !== 'undefined' && typeof require === 'function') {
    try {
      const m = require('node:sea') as SeaModule;
      if (m.isSea()) sea = m;
    } catch {
      // Node without node:sea: not an executable
    }
  }
  return sea;
}

/** The repository (or installed package) root: the compiled entry lives in dist/, the sources in installer/core/. */
export function packageRoot(): string {
  if (typeof PALISADE_BUILD !== 'undefined') return resolve(__dirname, '..');
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
}

let info: BuildInfo | undefined;
export function buildInfo(): BuildInfo {
  if (info) return info;
  if (typeof PALISADE_BUILD !== 'undefined') {
    info = { version: PALISADE_BUILD.version, commit: PALISADE_BUILD.commit, kind: seaModule() ? 'executable' : 'compiled' };
  } else {
    const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
    info = { version: pkg.version, commit: 'source', kind: 'source' };
  }
  return info;
}

/** `0.1.0 (commit abc1234, executable)` */
export const versionLine = (): string => {
  const b = buildInfo();
  return `${b.version} (${b.commit === 'source' ? 'from source, not built' : `commit ${b.commit}`}, ${b.kind})`;
};

/** Is this process the single executable? */
export const isExecutable = (): boolean => seaModule() !== undefined;

/** File names (not paths) of the run-time files in a resource directory such as 'manifests', sorted. */
export function listResources(dir: string): string[] {
  const prefix = `${dir.replace(/\/$/, '')}/`;
  if (typeof PALISADE_BUILD !== 'undefined' && seaModule()) {
    return PALISADE_BUILD.resources
      .filter((r) => r.startsWith(prefix))
      .map((r) => r.slice(prefix.length))
      .sort();
  }
  const abs = join(packageRoot(), dir);
  return existsSync(abs) ? readdirSync(abs).sort() : [];
}

/** A run-time file by its path in the repository ('manifests/ca.yaml'): an asset of the executable, else the file. */
export function readResource(path: string): string {
  const s = seaModule();
  if (s) return s.getAsset(path, 'utf8');
  return readFileSync(join(packageRoot(), path), 'utf8');
}
