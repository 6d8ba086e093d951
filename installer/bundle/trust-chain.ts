import type { KeyObject } from 'node:crypto';
import { CHECKSUMS_FILE, SIGNATURE_FILE, parseChecksums } from './checksums.ts';
import type { Bundle } from './open.ts';
import { keyFingerprint, parseSignature, signatureValid } from './signing.ts';
import { PalisadeError } from '../core/errors.ts';
import { sha256Hex } from '../core/hash.ts';

/**
 * The cheap half of verification, for consumers that hash what they read
 * anyway (seeding): signature over bundle.yaml, then checksums.txt against
 * the digest bundle.yaml pins. The returned map lets the caller check each
 * file it uses against checksums.txt without hashing the whole bundle first.
 */
export async function trustedChecksums(bundle: Bundle, key: KeyObject): Promise<Map<string, string>> {
  const fail = (code: string, message: string): never => {
    throw new PalisadeError(code, `bundle ${bundle.path}: ${message}`, { hint: 'run `palisade bundle verify` on it; get the bundle again from the release' });
  };
  if (!bundle.has(SIGNATURE_FILE)) fail('bundle.signature-missing', 'bundle.sig is missing: the bundle is not signed');
  const sig = parseSignature((await bundle.read(SIGNATURE_FILE)).toString('utf8'));
  if (sig.keyId !== keyFingerprint(key)) fail('bundle.untrusted-key', `signed by key ${sig.keyId}, not the trusted key ${keyFingerprint(key)}`);
  if (!signatureValid(bundle.manifestBytes, sig, key)) fail('bundle.signature-bad', 'the signature does not match bundle.yaml');
  if (!bundle.has(CHECKSUMS_FILE)) fail('bundle.missing-file', 'checksums.txt is missing');
  const text = await bundle.read(CHECKSUMS_FILE);
  if (sha256Hex(text) !== bundle.manifest.checksums.sha256) fail('bundle.checksums-modified', 'checksums.txt does not match the digest in bundle.yaml');
  return parseChecksums(text.toString('utf8'));
}
