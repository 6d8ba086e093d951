import { createCipheriv, createDecipheriv, createHmac, randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { PalisadeError } from '../core/errors.ts';
import type { KeyEntry, KeystoreEvent } from './types.ts';

/**
 * The keystore file: one JSON header line, then the base64 ciphertext.
 *
 *   {"format":"palisade-keystore","version":1,"cluster":"demo","kdf":{...},"cipher":"aes-256-gcm","nonce":"...","check":"..."}
 *   <base64 of AES-256-GCM(ciphertext || 16-byte tag)>
 *
 * The key is scrypt(passphrase, salt) with the parameters in the header; salt
 * and nonce are new on every write. The header line is the GCM additional
 * data, so a changed header fails authentication like a changed body. `check`
 * (an HMAC under a second derived key) tells a wrong passphrase apart from a
 * damaged file.
 */

export const FORMAT = 'palisade-keystore';
export const VERSION = 1;

export interface KdfParams {
  name: 'scrypt';
  N: number;
  r: number;
  p: number;
  salt: string;
}

export interface Header {
  format: typeof FORMAT;
  version: number;
  cluster: string;
  /** "keystore", or "recovery" for an `export-recovery` copy */
  purpose: string;
  kdf: KdfParams;
  cipher: 'aes-256-gcm';
  nonce: string;
  check: string;
}

export interface Payload {
  cluster: string;
  savedAt: string;
  entries: KeyEntry[];
  /** what was done with the secrets (reveals); encrypted with them, so it cannot be edited unseen */
  history?: KeystoreEvent[];
}

/** OWASP's scrypt minimum is N=2^17, r=8, p=1 (128 MiB, ~0.3 s here). */
export const DEFAULT_KDF = { N: 2 ** 17, r: 8, p: 1 } as const;

/**
 * The header is read before anything is authenticated, so it must not choose
 * what the derivation costs: only what palisade writes is accepted (r=8, p=1,
 * N a power of two from 2^10, the cheap setting tests use, to 2^18, twice the
 * default), at most 256 MiB and well under a second.
 */
export const KDF_BOUNDS = { minLogN: 10, maxLogN: 18, r: 8, p: 1 } as const;

export function kdfSupported(k: { N?: unknown; r?: unknown; p?: unknown }): boolean {
  const { N, r, p } = k;
  return (
    typeof N === 'number' &&
    Number.isInteger(N) &&
    N >= 2 ** KDF_BOUNDS.minLogN &&
    N <= 2 ** KDF_BOUNDS.maxLogN &&
    (N & (N - 1)) === 0 &&
    r === KDF_BOUNDS.r &&
    p === KDF_BOUNDS.p
  );
}

function scrypt(passphrase: string, salt: Buffer, k: { N: number; r: number; p: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCb(passphrase.normalize('NFC'), salt, 64, { N: k.N, r: k.r, p: k.p, maxmem: 256 * k.N * k.r + 32 * 1024 * 1024 }, (e, key) =>
      e ? reject(e) : resolve(key),
    );
  });
}

const checkValue = (macKey: Buffer): string =>
  createHmac('sha256', macKey).update('palisade-keystore passphrase check').digest().subarray(0, 16).toString('base64');

export async function encrypt(payload: Payload, passphrase: string, o: { purpose?: string; kdf?: { N: number; r: number; p: number } } = {}): Promise<Buffer> {
  const k = o.kdf ?? DEFAULT_KDF;
  // never write a keystore this palisade would refuse to read
  if (!kdfSupported(k)) throw new Error(`scrypt parameters N=${k.N} r=${k.r} p=${k.p} are outside what a keystore may use`);
  const salt = randomBytes(16);
  const nonce = randomBytes(12);
  const derived = await scrypt(passphrase, salt, k);
  try {
    const header: Header = {
      format: FORMAT,
      version: VERSION,
      cluster: payload.cluster,
      purpose: o.purpose ?? 'keystore',
      kdf: { name: 'scrypt', N: k.N, r: k.r, p: k.p, salt: salt.toString('base64') },
      cipher: 'aes-256-gcm',
      nonce: nonce.toString('base64'),
      check: checkValue(derived.subarray(32)),
    };
    const headerLine = Buffer.from(JSON.stringify(header), 'utf8');
    const cipher = createCipheriv('aes-256-gcm', derived.subarray(0, 32), nonce);
    cipher.setAAD(headerLine);
    const plain = Buffer.from(JSON.stringify(payload), 'utf8');
    const body = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    plain.fill(0);
    return Buffer.concat([headerLine, Buffer.from('\n'), Buffer.from(body.toString('base64')), Buffer.from('\n')]);
  } finally {
    derived.fill(0);
  }
}

const damaged = (path: string, why: string): PalisadeError =>
  new PalisadeError('keystore.damaged', `${path} is not a readable palisade keystore: ${why}`, {
    hint: 'restore it from your `palisade keys export-recovery` copy; nothing was changed',
  });

export function readHeader(data: Buffer, path: string): { header: Header; headerLine: Buffer; body: Buffer } {
  const nl = data.indexOf(0x0a);
  if (nl < 0) throw damaged(path, 'no header line');
  const headerLine = data.subarray(0, nl);
  let h: Header;
  try {
    h = JSON.parse(headerLine.toString('utf8')) as Header;
  } catch {
    throw damaged(path, 'the header is not valid JSON');
  }
  if (h.format !== FORMAT) throw damaged(path, 'it does not start with a palisade keystore header');
  if (h.version !== VERSION) {
    throw new PalisadeError('keystore.version', `${path} is keystore format version ${String(h.version)}; this palisade reads version ${VERSION}`, {
      hint: 'use the palisade release that wrote it',
    });
  }
  const k = h.kdf;
  if (!k || typeof k !== 'object' || k.name !== 'scrypt' || !kdfSupported(k) || typeof k.salt !== 'string' || Buffer.from(k.salt, 'base64').length !== 16) {
    throw damaged(
      path,
      `key-derivation parameters in the header are not ones palisade writes (scrypt N=2^${KDF_BOUNDS.minLogN}..2^${KDF_BOUNDS.maxLogN}, r=${KDF_BOUNDS.r}, p=${KDF_BOUNDS.p}, 16-byte salt)`,
    );
  }
  if (h.cipher !== 'aes-256-gcm' || typeof h.nonce !== 'string' || Buffer.from(h.nonce, 'base64').length !== 12)
    throw damaged(path, 'the cipher or nonce in the header is not one palisade writes');
  const body = Buffer.from(
    data
      .subarray(nl + 1)
      .toString('ascii')
      .trim(),
    'base64',
  );
  if (body.length < 17) throw damaged(path, 'the encrypted body is missing or truncated');
  return { header: h, headerLine, body };
}

export async function decrypt(data: Buffer, passphrase: string, path: string): Promise<{ header: Header; payload: Payload }> {
  const { header, headerLine, body } = readHeader(data, path);
  const derived = await scrypt(passphrase, Buffer.from(header.kdf.salt, 'base64'), header.kdf);
  try {
    const want = Buffer.from(header.check ?? '', 'base64');
    const got = Buffer.from(checkValue(derived.subarray(32)), 'base64');
    if (want.length !== got.length || !timingSafeEqual(want, got)) {
      throw new PalisadeError('keystore.passphrase', `wrong passphrase for ${path}`, {
        hint: 'check PALISADE_PASSPHRASE or the --passphrase-file; nothing was changed',
      });
    }
    const decipher = createDecipheriv('aes-256-gcm', derived.subarray(0, 32), Buffer.from(header.nonce, 'base64'));
    decipher.setAAD(headerLine);
    decipher.setAuthTag(body.subarray(body.length - 16));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]);
    } catch {
      throw new PalisadeError('keystore.tampered', `${path} was modified or damaged: its contents fail authentication (the passphrase is right)`, {
        hint: 'restore it from your `palisade keys export-recovery` copy; nothing was changed',
      });
    }
    let payload: Payload;
    try {
      payload = JSON.parse(plain.toString('utf8')) as Payload;
    } finally {
      plain.fill(0);
    }
    if (!payload || !Array.isArray(payload.entries)) throw damaged(path, 'the decrypted contents are not a key list');
    return { header, payload };
  } finally {
    derived.fill(0);
  }
}
