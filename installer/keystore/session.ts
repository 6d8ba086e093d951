import { usageError } from '../core/errors.ts';
import { secretEnv } from '../core/secret-env.ts';
import { resolvePassphrase, type TtyInput } from './passphrase.ts';
import { createKeystore, keystoreExists, openKeystore } from './store.ts';
import type { Keystore } from './types.ts';

/**
 * One keystore for one command or install run: opened at most once, its
 * passphrase asked at most once, created only when the caller asks for it.
 * The passphrase rules live here: an existing keystore's comes from
 * --passphrase-file, PALISADE_PASSPHRASE or a prompt; a new one's is checked
 * for length and, at a prompt, asked twice. Other passphrases (a new one for
 * `keys passphrase`, a recovery copy's) must differ from it.
 */
export interface KeystoreSessionOptions {
  path: string;
  /** the cluster a new keystore is for (needed only to create one) */
  cluster?: string;
  /** --passphrase-file */
  passphraseFile?: string;
  /** for tests: the terminal */
  input?: TtyInput;
  output?: NodeJS.WritableStream;
}

export class KeystoreSession {
  private ks: Keystore | undefined;
  private opened = false;
  private secret: string | undefined;
  /** true once this session created the keystore file */
  created = false;

  constructor(private readonly o: KeystoreSessionOptions) {}

  get path(): string {
    return this.o.path;
  }

  exists(): Promise<boolean> {
    return keystoreExists(this.o.path);
  }

  /** Can a passphrase be had without failing: a file, the environment, or a terminal to prompt on? */
  canUnlock(): boolean {
    return !!this.o.passphraseFile || secretEnv('PALISADE_PASSPHRASE') !== undefined || !!(this.o.input ?? process.stdin).isTTY;
  }

  /** The keystore passphrase, asked once; `create`: for a new keystore (length rule, asked twice at a prompt). */
  async passphrase(create = false): Promise<string> {
    this.secret ??= await resolvePassphrase({
      ...(this.o.passphraseFile ? { file: this.o.passphraseFile } : {}),
      ...(create ? { create: true, label: 'new keystore passphrase' } : {}),
      ...(this.o.input ? { input: this.o.input } : {}),
      ...(this.o.output ? { output: this.o.output } : {}),
    });
    return this.secret;
  }

  /** The keystore when there is one (its passphrase is asked only then). */
  async open(): Promise<Keystore | undefined> {
    if (!this.opened) {
      if (await this.exists()) this.ks = await openKeystore(this.o.path, { passphrase: await this.passphrase() });
      this.opened = true;
    }
    return this.ks;
  }

  /** The keystore, or a clear error when there is none. */
  async require(hint = 'run `palisade keys generate` first'): Promise<Keystore> {
    const ks = await this.open();
    if (!ks) throw usageError('keystore.missing', `no keystore at ${this.o.path}`, hint);
    return ks;
  }

  /** The keystore, created (with a new passphrase) when there is none. */
  async openOrCreate(): Promise<Keystore> {
    const ks = await this.open();
    if (ks) return ks;
    if (!this.o.cluster) throw new Error('a keystore session without a cluster name cannot create a keystore');
    this.ks = await createKeystore(this.o.path, { cluster: this.o.cluster, passphrase: await this.passphrase(true) });
    this.created = true;
    return this.ks;
  }

  /** Another passphrase (new, recovery) resolved by the same rules; it must differ from this keystore's. */
  async otherPassphrase(o: {
    env: 'PALISADE_NEW_PASSPHRASE' | 'PALISADE_RECOVERY_PASSPHRASE';
    file?: string;
    fileOption: string;
    label: string;
    sameError: { code: string; message: string; hint?: string };
  }): Promise<string> {
    const p = await resolvePassphrase({
      create: true,
      env: o.env,
      fileOption: o.fileOption,
      label: o.label,
      ...(o.file ? { file: o.file } : {}),
      ...(this.o.input ? { input: this.o.input } : {}),
      ...(this.o.output ? { output: this.o.output } : {}),
    });
    if (p === (await this.passphrase())) throw usageError(o.sameError.code, o.sameError.message, o.sameError.hint);
    return p;
  }
}
