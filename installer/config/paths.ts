import { stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';

/** The config file a command reads when none is given. */
export const DEFAULT_CONFIG_PATH = 'palisade.yaml';

/** Resolve a path written in the config relative to the config file. */
export function resolveConfigPath(loaded: { baseDir: string }, p: string): string {
  if (p.startsWith('~/')) return resolve(process.env.HOME ?? '/root', p.slice(2));
  return isAbsolute(p) ? p : resolve(loaded.baseDir, p);
}

export async function fileMode(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).mode & 0o777;
  } catch {
    return undefined;
  }
}
