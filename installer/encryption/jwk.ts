import { createHash } from 'node:crypto';

/** A JSON Web Key, as Tang advertises it. */
export interface Jwk {
  kty?: string;
  crv?: string;
  x?: string;
  y?: string;
  n?: string;
  e?: string;
  k?: string;
  alg?: string;
  key_ops?: string[];
  [k: string]: unknown;
}

/** RFC 7638 required members per key type, in lexicographic order. */
const REQUIRED: Record<string, string[]> = {
  EC: ['crv', 'kty', 'x', 'y'],
  RSA: ['e', 'kty', 'n'],
  oct: ['k', 'kty'],
  OKP: ['crv', 'kty', 'x'],
};

/**
 * RFC 7638 JWK thumbprint, base64url. Tang and clevis name keys this way
 * (`tang-show-keys` prints S256; clevis also accepts the 27-character S1 form).
 */
export function jwkThumbprint(jwk: Jwk, hash: 'sha256' | 'sha1' = 'sha256'): string {
  const members = REQUIRED[jwk.kty ?? ''];
  if (!members) throw new Error(`cannot take the thumbprint of a JWK of type ${String(jwk.kty)}`);
  const canonical = '{' + members.map((m) => `${JSON.stringify(m)}:${JSON.stringify(jwk[m] ?? '')}`).join(',') + '}';
  return createHash(hash).update(canonical).digest('base64url');
}

/** Both thumbprint forms of a key, so a configured thumbprint of either length matches. */
export function jwkThumbprints(jwk: Jwk): string[] {
  return [jwkThumbprint(jwk, 'sha256'), jwkThumbprint(jwk, 'sha1')];
}

/** The keys Tang signs its advertisement with: the ones whose key_ops include "verify". */
export function signingKeys(keys: Jwk[]): Jwk[] {
  return keys.filter((k) => Array.isArray(k.key_ops) && k.key_ops.includes('verify'));
}

export function decodeBase64UrlJson(part: string): unknown {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

/**
 * A Tang advertisement (`GET /adv`) is a JWS in general or flattened JSON form
 * whose payload is a JWK set. Returns its signing keys. The signature itself is
 * checked by clevis when it binds; comparing thumbprints here is what lets
 * palisade refuse a wrong server before it touches a disk.
 */
export function advertisementSigningKeys(advText: string): Jwk[] {
  let jws: { payload?: unknown };
  try {
    jws = JSON.parse(advText) as { payload?: unknown };
  } catch {
    throw new Error('the Tang advertisement is not JSON');
  }
  if (typeof jws.payload !== 'string') throw new Error('the Tang advertisement has no payload');
  const payload = decodeBase64UrlJson(jws.payload) as { keys?: Jwk[] };
  if (!Array.isArray(payload.keys)) throw new Error('the Tang advertisement payload has no keys');
  return signingKeys(payload.keys);
}

/** Does a configured thumbprint (S256 or S1) name one of these keys? */
export function thumbprintMatches(configured: string, keys: Jwk[]): boolean {
  return keys.some((k) => jwkThumbprints(k).includes(configured));
}
