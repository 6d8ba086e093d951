import { sha256Base64 } from '../core/hash.ts';

/**
 * OpenSSH fingerprint of a public key blob (the wire format, as in the base64
 * field of known_hosts or a .pub file): `SHA256:` + unpadded base64 of SHA-256.
 * Same as `ssh-keygen -lf`.
 */
export function fingerprintOf(blob: Uint8Array): string {
  return `SHA256:${sha256Base64(blob).replace(/=+$/, '')}`;
}

/** The key type named at the start of a key blob (`ssh-ed25519`, `rsa-sha2-…` keys say `ssh-rsa`). */
export function keyTypeOf(blob: Uint8Array): string {
  const b = Buffer.from(blob);
  if (b.length < 4) return 'unknown';
  const n = b.readUInt32BE(0);
  if (n > 64 || b.length < 4 + n) return 'unknown';
  return b.subarray(4, 4 + n).toString('latin1');
}

/** Blob from an OpenSSH public key line (`ssh-ed25519 AAAA… comment`). */
export function blobFromPublicKeyLine(line: string): Buffer | undefined {
  const parts = line.trim().split(/\s+/);
  const b64 = parts.length >= 2 ? parts[1] : undefined;
  if (!b64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return undefined;
  const blob = Buffer.from(b64, 'base64');
  return keyTypeOf(blob) === parts[0] ? blob : undefined;
}

export const FINGERPRINT_RE = /^SHA256:[A-Za-z0-9+/]{43}$/;
