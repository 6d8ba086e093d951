import { redact } from './log.ts';

/**
 * The environment variables that carry secrets. They are read once, at start,
 * and removed from process.env, so no child process inherits them: not the
 * ones palisade starts (core/process.ts gives those a minimal environment
 * anyway), nor the ones libraries start on their own (systeminformation).
 * Their values join the log redaction list.
 */
export const SECRET_ENV_NAMES = [
  'PALISADE_PASSPHRASE',
  'PALISADE_NEW_PASSPHRASE',
  'PALISADE_RECOVERY_PASSPHRASE',
  'PALISADE_SUDO_PASSWORD',
  'PALISADE_REGISTRY_PASSWORD',
  'PALISADE_SSH_KEY_PASSPHRASE',
] as const;

export type SecretEnvName = (typeof SECRET_ENV_NAMES)[number];

const taken = new Map<SecretEnvName, string>();

/** Move every secret variable out of process.env into this module (the CLI does this first thing). */
export function takeSecretEnv(env: NodeJS.ProcessEnv = process.env): void {
  for (const name of SECRET_ENV_NAMES) {
    const v = env[name];
    if (v === undefined) continue;
    delete env[name];
    if (v === '') continue;
    taken.set(name, v);
    redact.add(v);
  }
}

/**
 * A secret variable's value: taken at start, or still in `env` (library use
 * and tests that set process.env themselves). Empty counts as unset.
 */
export function secretEnv(name: SecretEnvName, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const v = (env === process.env ? taken.get(name) : undefined) ?? env[name];
  return v === '' ? undefined : v;
}
