import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { stateDir, stateFiles } from '../state/paths.ts';
import { writeFileAtomic } from '../core/atomic.ts';
import { PalisadeError, usageError } from '../core/errors.ts';
import { redact } from '../core/log.ts';
import { decrypt, encrypt, type Payload } from './format.ts';
import { acquireFileLock } from '../core/lock.ts';
import { hostname } from 'node:os';
import type { KeyEntry, Keystore, KeystoreEvent } from './types.ts';
import { sha256Hex } from '../core/hash.ts';

/**
 * The cluster's keystore in its state directory `.palisade/<cluster>/` beside
 * palisade.yaml; the file name comes from installer/state/paths.ts, the one
 * place every command (keys, certs, encryption, install) takes it from.
 */
export function keystorePath(configDir: string, cluster: string): string {
  return stateFiles(stateDir(configDir, cluster)).keystore;
}

export interface KeystoreOptions {
  passphrase: string;
  /** scrypt cost (tests use a cheaper one; files record theirs) */
  kdf?: { N: number; r: number; p: number };
  /** how long to wait for another process's lock (ms) */
  lockWaitMs?: number;
}

const sha = sha256Hex;

/** Register every secret with the log redactor, in the forms a slip would print it. */
function guard(e: KeyEntry): void {
  redact.add(e.value);
  for (const line of e.value.split('\n')) if (line.length >= 16 && !line.startsWith('-----')) redact.add(line);
}

class FileKeystore implements Keystore {
  private readonly entries = new Map<string, KeyEntry>();
  constructor(
    readonly path: string,
    readonly cluster: string,
    private passphrase: string,
    /** digest of the file as last read or written; undefined: not created yet */
    private onDisk: string | undefined,
    private readonly opts: KeystoreOptions,
    entries: KeyEntry[],
    private readonly events: KeystoreEvent[] = [],
  ) {
    for (const e of entries) {
      this.entries.set(e.name, e);
      guard(e);
    }
  }

  get(name: string): KeyEntry | undefined {
    const e = this.entries.get(name);
    return e ? { ...e, ...(e.meta ? { meta: { ...e.meta } } : {}) } : undefined;
  }

  put(entry: KeyEntry): void {
    if (!entry.name || /\s/.test(entry.name)) throw new Error(`keystore: bad entry name "${entry.name}"`);
    if (typeof entry.value !== 'string') throw new Error(`keystore: the value of ${entry.name} must be a string`);
    guard(entry);
    this.entries.set(entry.name, { ...entry, createdAt: entry.createdAt ?? new Date().toISOString() });
  }

  delete(name: string): boolean {
    return this.entries.delete(name);
  }

  list(): KeyEntry[] {
    return [...this.entries.values()].sort((a, b) => a.name.localeCompare(b.name)).map((e) => ({ ...e }));
  }

  history(): KeystoreEvent[] {
    return this.events.map((e) => ({ ...e }));
  }

  record(event: Omit<KeystoreEvent, 'at'>): void {
    this.events.push({ at: new Date().toISOString(), ...event });
  }

  private payload(): Payload {
    return { cluster: this.cluster, savedAt: new Date().toISOString(), entries: this.list(), history: this.history() };
  }

  /** Write under the lock, refusing when another process changed the file since we read it. */
  private async write(passphrase: string): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const lock = await acquireFileLock(`${this.path}.lock`, {
      command: process.argv.slice(2, 4).join(' '),
      waitMs: this.opts.lockWaitMs ?? 5000,
      releaseOnExit: false,
      busy: (owner, path) =>
        new PalisadeError(
          'keystore.locked',
          `the keystore ${this.path} is locked by process ${owner.pid} on ${owner.hostname}${owner.command ? ` (palisade ${owner.command})` : ''} since ${owner.startedAt}`,
          {
            hint:
              owner.hostname === hostname()
                ? 'wait for that command to finish, then run this one again'
                : `that process runs on another machine; if it is gone, remove ${path}`,
          },
        ),
    });
    try {
      const current = await readFile(this.path).then(sha, (e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return undefined;
        throw e;
      });
      if (current !== this.onDisk) {
        throw new PalisadeError(
          'keystore.changed',
          this.onDisk === undefined
            ? `${this.path} already exists (another process created it)`
            : `${this.path} was changed by another process since this one read it`,
          { hint: 'nothing was written; run the command again' },
        );
      }
      const data = await encrypt(this.payload(), passphrase, this.opts.kdf ? { kdf: this.opts.kdf } : {});
      await writeFileAtomic(this.path, data, { mode: 0o600, mkdirp: true });
      this.onDisk = sha(data);
    } finally {
      lock.release();
    }
  }

  save(): Promise<void> {
    return this.write(this.passphrase);
  }

  async changePassphrase(newPassphrase: string): Promise<void> {
    await this.write(newPassphrase);
    this.passphrase = newPassphrase;
  }

  async exportTo(path: string, passphrase: string): Promise<void> {
    const data = await encrypt(this.payload(), passphrase, { purpose: 'recovery', ...(this.opts.kdf ? { kdf: this.opts.kdf } : {}) });
    await writeFileAtomic(path, data, { mode: 0o600, mkdirp: true });
  }
}

/** Open an existing keystore. Wrong passphrase, damage or tampering: a clear error, nothing changed. */
export async function openKeystore(path: string, opts: KeystoreOptions): Promise<Keystore> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw usageError(
      'keystore.missing',
      code === 'ENOENT' ? `no keystore at ${path}` : `cannot read the keystore ${path} (${code ?? 'error'})`,
      code === 'ENOENT' ? 'run `palisade keys generate` first' : 'check its permissions',
    );
  }
  const { header, payload } = await decrypt(data, opts.passphrase, path);
  if (payload.cluster !== header.cluster) throw new PalisadeError('keystore.tampered', `${path}: the cluster name in the header does not match the contents`);
  return new FileKeystore(path, payload.cluster, opts.passphrase, sha(data), opts, payload.entries, Array.isArray(payload.history) ? payload.history : []);
}

/** A new, empty keystore (written at the first save). Refuses when the file exists. */
export async function createKeystore(path: string, opts: KeystoreOptions & { cluster: string }): Promise<Keystore> {
  if (
    await stat(path).then(
      () => true,
      () => false,
    )
  ) {
    throw usageError('keystore.exists', `a keystore already exists at ${path}`, 'open it instead; remove it only if you hold a recovery copy');
  }
  return new FileKeystore(path, opts.cluster, opts.passphrase, undefined, opts, []);
}

export async function keystoreExists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
