import { readFile } from 'node:fs/promises';
import ssh2 from 'ssh2';
const { utils } = ssh2;
import { PalisadeError, usageError } from '../core/errors.ts';
import { redact } from '../core/log.ts';
import { secretEnv } from '../core/secret-env.ts';
import { fingerprintOf } from './fingerprint.ts';
import type { HostTarget } from './target.ts';

export const KEY_PASSPHRASE_ENV = 'PALISADE_SSH_KEY_PASSPHRASE' as const;

/** What ssh2 gets to authenticate, and how to name it in an error. */
export interface Credentials {
  privateKey?: Buffer;
  passphrase?: string;
  agent?: string;
  /** "key /path/id_ed25519 (ssh-ed25519 SHA256:…)" or "the keys in ssh-agent" */
  description: string;
}

const cache = new Map<string, Promise<Credentials>>();

/** Load (once per path) and check the private key, or fall back to ssh-agent. */
export function credentialsFor(t: HostTarget, env: NodeJS.ProcessEnv = process.env): Promise<Credentials> {
  if (!t.privateKey) {
    const sock = env.SSH_AUTH_SOCK;
    if (!sock) {
      return Promise.reject(
        usageError(
          'ssh.no-credentials',
          `${t.name}: no privateKey is set and no ssh-agent is running (SSH_AUTH_SOCK is not set)`,
          `set privateKey for ${t.name} in palisade.yaml, or start ssh-agent and ssh-add the key`,
        ),
      );
    }
    return Promise.resolve({ agent: sock, description: `the keys in ssh-agent (${sock})` });
  }
  const passphrase = secretEnv(KEY_PASSPHRASE_ENV, env);
  const k = `${t.privateKey}\0${passphrase ?? ''}`;
  let p = cache.get(k);
  if (!p) {
    p = loadKey(t.privateKey, passphrase);
    cache.set(k, p);
    p.catch(() => cache.delete(k));
  }
  return p;
}

async function loadKey(path: string, passphrase: string | undefined): Promise<Credentials> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (e) {
    throw usageError(
      'ssh.key-missing',
      `cannot read the SSH private key ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      'check privateKey in palisade.yaml (relative paths are relative to that file)',
    );
  }
  if (passphrase) redact.add(passphrase);
  const parsed = utils.parseKey(data, passphrase);
  if (parsed instanceof Error) {
    const m = parsed.message;
    if (/no passphrase given/i.test(m)) {
      throw usageError(
        'ssh.key-passphrase',
        `the SSH private key ${path} is encrypted`,
        `set ${KEY_PASSPHRASE_ENV} to its passphrase (or use ssh-agent: omit privateKey and set SSH_AUTH_SOCK)`,
      );
    }
    if (/bad passphrase|decrypt|integrity/i.test(m)) {
      throw usageError(
        'ssh.key-passphrase',
        `the passphrase in ${KEY_PASSPHRASE_ENV} does not decrypt the SSH private key ${path}`,
        `set ${KEY_PASSPHRASE_ENV} to the passphrase of this key`,
      );
    }
    throw usageError(
      'ssh.key-invalid',
      `${path} is not an SSH private key palisade can use: ${m}`,
      'use an OpenSSH ed25519 or RSA private key (ssh-keygen -t ed25519)',
    );
  }
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key.getPrivatePEM() === null)
    throw new PalisadeError('ssh.key-invalid', `${path} holds a public key, not a private key`, {
      hint: 'point privateKey at the private half (without .pub)',
      exitCode: 2,
    });
  return {
    privateKey: data,
    ...(passphrase ? { passphrase } : {}),
    description: `key ${path} (${key.type} ${fingerprintOf(key.getPublicSSH())})`,
  };
}
