// Types of build.mjs (plain JavaScript so the palisade entry can run it without TypeScript tooling).
export const ROOT: string;
export const DIST: string;
export const COMPILED: string;
export const STAMP: string;
export interface BuildInfo {
  version: string;
  commit: string;
  builtAt: string;
  resources: string[];
}
export function resourceFiles(root?: string): string[];
export function sourceFingerprint(root?: string): string;
export function buildCommit(root?: string): Promise<string>;
export function isFresh(root?: string): boolean;
export function buildCompiled(opts?: { root?: string; quiet?: boolean }): Promise<BuildInfo>;
export function ensureBuilt(opts?: { root?: string; quiet?: boolean }): Promise<boolean>;
