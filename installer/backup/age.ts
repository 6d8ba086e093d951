/**
 * The one place the age format library is used: a streamed encryption to a
 * passphrase (scrypt) or to X25519 recipients, a streamed decryption, and the
 * library's failures turned into what they mean for a backup file. The output
 * is the standard age format, so `age -d` opens it without palisade.
 */
import { Decrypter, Encrypter, Stanza, type Identity, type Recipient } from 'age-encryption';
import { createCipheriv, createDecipheriv, randomBytes, scrypt } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadable } from 'node:stream/web';
import { PalisadeError } from '../core/errors.ts';

/** How a backup is sealed: the keystore passphrase, or public keys (`age1…`) whose private halves live elsewhere. */
export type SealKey = { passphrase: string; workFactor?: number } | { recipients: string[] };
/** How a backup is opened: the passphrase, and/or age identities (`AGE-SECRET-KEY-1…`). */
export interface OpenKey {
  passphrase?: string;
  identities?: string[];
}

// ---- the age scrypt stanza (age spec, "scrypt recipient stanza") on node:crypto's native scrypt:
// the library's own runs in JavaScript and takes seconds at the work factor age uses ----
const SCRYPT_LABEL = 'age-encryption.org/v1/scrypt';
/** age's default work factor (2^18) */
const SCRYPT_LOG_N = 18;
/** age refuses more than this when decrypting */
const SCRYPT_MAX_LOG_N = 22;
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64').replace(/=+$/, '');

function scryptKey(passphrase: string, salt: Buffer, logN: number): Promise<Buffer> {
  const N = 2 ** logN;
  return new Promise((res, rej) =>
    scrypt(passphrase.normalize('NFC'), Buffer.concat([Buffer.from(SCRYPT_LABEL), salt]), 32, { N, r: 8, p: 1, maxmem: 256 * N * 8 }, (e, k) =>
      e ? rej(e) : res(k),
    ),
  );
}

function sealFileKey(key: Buffer, fileKey: Uint8Array): Uint8Array {
  const c = createCipheriv('chacha20-poly1305', key, Buffer.alloc(12), { authTagLength: 16 });
  return Buffer.concat([c.update(fileKey), c.final(), c.getAuthTag()]);
}

function openFileKey(key: Buffer, body: Uint8Array): Uint8Array | null {
  if (body.length !== 32) throw new Error('invalid scrypt stanza');
  const d = createDecipheriv('chacha20-poly1305', key, Buffer.alloc(12), { authTagLength: 16 });
  d.setAuthTag(Buffer.from(body.subarray(16)));
  try {
    return Buffer.concat([d.update(body.subarray(0, 16)), d.final()]);
  } catch {
    return null;
  }
}

class ScryptRecipient implements Recipient {
  constructor(
    private readonly passphrase: string,
    private readonly logN: number,
  ) {}
  async wrapFileKey(fileKey: Uint8Array): Promise<Stanza[]> {
    const salt = randomBytes(16);
    return [new Stanza(['scrypt', b64(salt), String(this.logN)], sealFileKey(await scryptKey(this.passphrase, salt, this.logN), fileKey))];
  }
}

class ScryptIdentity implements Identity {
  constructor(private readonly passphrase: string) {}
  async unwrapFileKey(stanzas: Stanza[]): Promise<Uint8Array | null> {
    const s = stanzas.find((x) => x.args[0] === 'scrypt');
    if (!s) return null;
    // a passphrase file has exactly one stanza (age spec): anything else was tampered with
    if (stanzas.length !== 1 || s.args.length !== 3 || !/^[1-9]\d*$/.test(s.args[2]!)) throw new Error('invalid scrypt stanza');
    const salt = Buffer.from(s.args[1]!, 'base64');
    const logN = Number(s.args[2]);
    if (salt.length !== 16 || logN > SCRYPT_MAX_LOG_N) throw new Error('invalid scrypt stanza');
    return openFileKey(await scryptKey(this.passphrase, salt, logN), s.body);
  }
}

const RECIPIENT = /^age1[02-9ac-hj-np-z]{58}$/;

export function checkRecipient(r: string): string {
  if (!RECIPIENT.test(r))
    throw new PalisadeError('backup.recipient', `--recipient ${r.slice(0, 16)}…: not an age X25519 recipient`, {
      exitCode: 2,
      hint: 'give the public key `age-keygen` prints ("age1" and 58 more characters)',
    });
  return r;
}

/**
 * A pull-based web stream over a Node stream: a chunk is read only when asked for, and a
 * cancel destroys the source (Readable.toWeb pushes on and throws once the reader is gone).
 */
function toWeb(src: Readable, onEnd?: () => void): ReadableStream<Uint8Array> {
  const it = src[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      const r = await it.next();
      if (r.done) {
        onEnd?.();
        c.close();
      } else c.enqueue(r.value as Buffer);
    },
    cancel(reason) {
      src.destroy(reason instanceof Error ? reason : undefined);
    },
  });
}

export async function encryptStream(plain: Readable, key: SealKey): Promise<Readable> {
  const e = new Encrypter();
  if ('passphrase' in key) e.addRecipient(new ScryptRecipient(key.passphrase, key.workFactor ?? SCRYPT_LOG_N));
  else for (const r of key.recipients) e.addRecipient(checkRecipient(r));
  const out = await e.encrypt(toWeb(plain));
  return Readable.fromWeb(out as unknown as WebReadable<Uint8Array>);
}

export interface Opened {
  plain: Readable;
  /** classify an error raised while reading `plain` */
  explain(e: unknown): PalisadeError;
}

export async function decryptStream(cipher: Readable, key: OpenKey, what: string): Promise<Opened> {
  const d = new Decrypter();
  if (key.passphrase !== undefined) d.addIdentity(new ScryptIdentity(key.passphrase));
  for (const i of key.identities ?? []) d.addIdentity(i.trim());
  // a failure once the decrypter has had the last byte is in the final block: the file was cut short
  let allFed = false;
  let web: WebReadable<Uint8Array>;
  try {
    web = (await d.decrypt(toWeb(cipher, () => (allFed = true)))) as unknown as WebReadable<Uint8Array>;
  } catch (e) {
    cipher.destroy();
    throw headerError(e, what, key);
  }
  return {
    plain: Readable.fromWeb(web),
    explain: (e) => (e instanceof PalisadeError ? e : payloadError(e, what, allFed)),
  };
}

function headerError(e: unknown, what: string, key: OpenKey): PalisadeError {
  const m = e instanceof Error ? e.message : String(e);
  if (/no identity matched/.test(m)) {
    return new PalisadeError('backup.key', `${what}: ${key.passphrase !== undefined ? 'wrong passphrase' : 'none of the identities given'} opens this backup`, {
      hint:
        key.passphrase !== undefined
          ? 'use the keystore passphrase the backup was taken with (a backup made with --recipient needs --identity FILE)'
          : 'give the identity file whose public key was the --recipient',
    });
  }
  if (/invalid header HMAC/.test(m))
    return new PalisadeError('backup.tampered', `${what}: the backup's header was changed (its MAC does not match); nothing was restored`, {
      hint: 'use another copy of the backup',
    });
  if (/invalid scrypt stanza/.test(m))
    return new PalisadeError('backup.tampered', `${what}: the backup's header was changed (its passphrase stanza is malformed); nothing was restored`, {
      hint: 'use another copy of the backup',
    });
  if (/invalid version|intro|EOF/i.test(m))
    return new PalisadeError('backup.format', `${what}: not an age-encrypted palisade backup (${m})`, { hint: 'give a file written by `palisade backup`' });
  // an age file whose header does not parse was changed (or damaged) after it was written
  return new PalisadeError('backup.tampered', `${what}: the backup's header was changed or damaged (${m}); nothing was restored`, {
    hint: 'use another copy of the backup',
  });
}

function payloadError(e: unknown, what: string, inputEnded: boolean): PalisadeError {
  const m = e instanceof Error ? e.message : String(e);
  if (inputEnded || /final chunk|too small|size is invalid/i.test(m)) {
    return new PalisadeError('backup.truncated', `${what}: the backup is truncated (its last encrypted block is missing or cut short); nothing was restored`, {
      hint: 'the copy was cut short (disk full, interrupted transfer): use another copy',
    });
  }
  if (/tag|invalid|decrypt/i.test(m))
    return new PalisadeError(
      'backup.tampered',
      `${what}: the backup was changed after it was written (an encrypted block fails authentication); nothing was restored`,
      { hint: 'use another copy of the backup' },
    );
  return new PalisadeError('backup.read', `${what}: cannot read the backup: ${m}`);
}
