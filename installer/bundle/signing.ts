import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { PalisadeError, usageError } from '../core/errors.ts';
import { log } from '../core/log.ts';
import { sha256Base64 } from '../core/hash.ts';

/**
 * Bundle signatures: Ed25519 over the exact bytes of bundle.yaml. bundle.sig
 * names the signing key by fingerprint so a refusal can say "signed by another
 * key" rather than only "bad signature".
 */
export const SIGNATURE_HEADER = 'palisade-bundle-signature v1';

export interface BundleSignature {
  keyId: string;
  signature: Buffer;
}

/** SHA256:<base64 of the SPKI DER hash>, the shape OpenSSH uses for host keys. */
export function keyFingerprint(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const der = pub.export({ type: 'spki', format: 'der' });
  return `SHA256:${sha256Base64(der).replace(/=+$/, '')}`;
}

export function generateSigningKey(): { privateKeyPem: string; publicKeyPem: string; keyId: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    keyId: keyFingerprint(publicKey),
  };
}

export function renderSignature(sig: BundleSignature): string {
  return `${SIGNATURE_HEADER}\nkey: ${sig.keyId}\nsignature: ${sig.signature.toString('base64')}\n`;
}

export function parseSignature(text: string): BundleSignature {
  const lines = text.split('\n');
  const key = /^key: (SHA256:[A-Za-z0-9+/]{43})$/.exec(lines[1] ?? '');
  const sigm = /^signature: ([A-Za-z0-9+/]+={0,2})$/.exec(lines[2] ?? '');
  if (lines[0] !== SIGNATURE_HEADER || !key || !sigm) {
    throw new PalisadeError('bundle.signature-bad', 'bundle.sig is malformed', {
      hint: 'the signature file was damaged or replaced: get the bundle again from the release',
    });
  }
  const signature = Buffer.from(sigm[1] as string, 'base64');
  if (signature.length !== 64) throw new PalisadeError('bundle.signature-bad', 'bundle.sig does not hold an Ed25519 signature (64 bytes)');
  return { keyId: key[1] as string, signature };
}

export function signManifest(manifestBytes: Buffer, privateKey: KeyObject): BundleSignature {
  if (privateKey.asymmetricKeyType !== 'ed25519')
    throw usageError('bundle.key', `the signing key is ${privateKey.asymmetricKeyType}, not Ed25519`, 'create one with `palisade bundle keygen`');
  return { keyId: keyFingerprint(privateKey), signature: sign(null, manifestBytes, privateKey) };
}

export function signatureValid(manifestBytes: Buffer, sig: BundleSignature, publicKey: KeyObject): boolean {
  try {
    return verify(null, manifestBytes, publicKey, sig.signature);
  } catch {
    return false;
  }
}

const looksLikePem = (s: string): boolean => s.includes('-----BEGIN ');

/** A trusted key given as PEM text, or as a path to a PEM file. */
export async function loadPublicKey(value: string, where = 'trusted key'): Promise<KeyObject> {
  let pem = value;
  if (!looksLikePem(value)) {
    try {
      pem = await readFile(value, 'utf8');
    } catch (e) {
      throw usageError(
        'bundle.trusted-key',
        `${where}: cannot read ${value} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
        'give the Ed25519 public key as PEM text or as the path of the .pub file written by `palisade bundle keygen`',
      );
    }
  }
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw usageError('bundle.trusted-key', `${where} is not a PEM public key`, 'use the .pub file written by `palisade bundle keygen`');
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw usageError('bundle.trusted-key', `${where} is a ${key.asymmetricKeyType} key; bundles are signed with Ed25519`);
  return key;
}

export async function loadPrivateKey(path: string): Promise<KeyObject> {
  let pem: string;
  try {
    const st = await stat(path);
    if ((st.mode & 0o077) !== 0) log.warn(`signing key ${path} is readable by group or others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
    pem = await readFile(path, 'utf8');
  } catch (e) {
    throw usageError(
      'bundle.key',
      `cannot read signing key ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      'create one with `palisade bundle keygen`',
    );
  }
  try {
    const key = createPrivateKey(pem);
    if (key.asymmetricKeyType !== 'ed25519') throw new Error('not ed25519');
    return key;
  } catch {
    throw usageError('bundle.key', `${path} is not an Ed25519 private key in PEM`, 'create one with `palisade bundle keygen`');
  }
}
