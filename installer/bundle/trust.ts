import type { KeyObject } from 'node:crypto';
import { loadPublicKey } from './signing.ts';
import { usageError } from '../core/errors.ts';
import type { LoadedConfig } from '../config/load.ts';
import { resolveConfigPath } from '../config/paths.ts';

/**
 * The key a bundle must be signed by: --trusted-key wins, else palisade.yaml
 * `bundle.trustedKey` (PEM text, or a path relative to the config file).
 * A caller that holds the loaded config passes it (`loaded`): it is not read again.
 */
export async function resolveTrustedKey(opts: { trustedKey?: string; loaded?: LoadedConfig; config?: string; configExplicit?: boolean }): Promise<KeyObject> {
  if (opts.trustedKey) return loadPublicKey(opts.trustedKey, '--trusted-key');
  let loaded = opts.loaded;
  try {
    // the config's schemas are built only when the key has to come from it
    loaded ??= await (await import('../config/load.ts')).loadConfig(opts.config);
  } catch (e) {
    if (opts.configExplicit) throw e;
    throw usageError(
      'bundle.no-trusted-key',
      'no trusted key to check the bundle signature against',
      'pass --trusted-key FILE (the .pub from `palisade bundle keygen`), or set bundle.trustedKey in palisade.yaml',
    );
  }
  const v = loaded.config.bundle.trustedKey;
  if (!v)
    throw usageError(
      'bundle.no-trusted-key',
      `${loaded.path} has no bundle.trustedKey`,
      'set bundle.trustedKey to the release public key (PEM or path), or pass --trusted-key',
    );
  return loadPublicKey(v.includes('-----BEGIN ') ? v : resolveConfigPath(loaded, v), 'bundle.trustedKey');
}
