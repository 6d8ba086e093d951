import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { htpasswdLine } from './htpasswd.ts';

/**
 * Service secrets. Every value comes from the CSPRNG; none is derived from
 * another, so one leaking says nothing about the rest.
 */

/** Cluster join token: 32 random bytes, hex (k3s accepts any string as its token). */
export const joinToken = (): string => randomBytes(32).toString('hex');

/** The secrets-at-rest key (k3s `secretbox`/aescbc provider): 32 random bytes, base64. */
export const secretsAtRestKey = (): string => randomBytes(32).toString('base64');

/** Password-hash salt: 16 random bytes, hex. */
export const passwordSalt = (): string => randomBytes(16).toString('hex');

/** Ed25519 JWT signing key, PKCS#8 PEM, with its public key (SPKI PEM). */
export function jwtSigningKey(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

export interface RegistryCredentials {
  username: string;
  password: string;
  /** the htpasswd line the registry server checks (bcrypt; see installer/pki/htpasswd.ts) */
  htpasswd: string;
}

/** Registry credentials: 24 random bytes as URL-safe base64 (no characters a shell or URL would mangle). */
export function registryCredentials(username = 'palisade'): RegistryCredentials {
  const password = randomBytes(24).toString('base64url');
  return { username, password, htpasswd: htpasswdLine(username, password) };
}
