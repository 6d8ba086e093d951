import { PalisadeError } from '../../../core/errors.ts';
import type { KeystoreSession } from '../../../keystore/session.ts';
import type { KeyEntry, Keystore } from '../../../keystore/types.ts';
import { ensureKeySet, isOptionalEntry, keySetSpecs, keySetView, KEY_NAMES, type EntrySink, type KeySet, type KeySetInput } from '../../../pki/keyset.ts';
import type { PhaseTask } from '../../types.ts';

/**
 * The cluster's keystore and key set for one install run: opened once (the
 * passphrase asked once), created only as a change (task.change), and the
 * typed key set every phase that needs a key reads. Keys made in a dry run stay
 * in memory, so later phases can plan with them; nothing is written.
 */
export interface KeyAccessOptions {
  /** the cluster's keystore: opened once, its passphrase asked once, created only when asked (the phase tests keep one in memory) */
  session: Pick<KeystoreSession, 'path' | 'open' | 'openOrCreate'>;
  input: KeySetInput;
}

export class KeyAccess {
  private ks: Keystore | undefined;
  private view: KeySet | undefined;
  constructor(private readonly o: KeyAccessOptions) {}

  get path(): string {
    return this.o.session.path;
  }

  /** The keystore when there is one. */
  async keystore(): Promise<Keystore | undefined> {
    this.ks ??= await this.o.session.open();
    return this.ks;
  }

  /** The keystore, created as a change of `task` when there is none (undefined only in a dry run). */
  async keystoreOrCreate(task: PhaseTask): Promise<Keystore | undefined> {
    const ks = await this.keystore();
    if (ks) return ks;
    this.ks = await task.change(undefined, `create the keystore ${this.path}`, () => this.o.session.openOrCreate());
    return this.ks;
  }

  /** Key set entries the keystore does not hold (all of them without a keystore). */
  async missing(): Promise<string[]> {
    const ks = await this.keystore();
    return keySetSpecs(this.o.input)
      .map((s) => s.name)
      .filter((n) => !ks?.get(n));
  }

  /** Make what the keystore lacks and save it (one change); returns the names made. */
  async ensure(task: PhaseTask): Promise<string[]> {
    const ks = await this.keystoreOrCreate(task);
    const added = new Map<string, KeyEntry>();
    const sink: EntrySink = { get: (n) => added.get(n) ?? ks?.get(n), put: (e) => void added.set(e.name, e) };
    const made = await ensureKeySet(this.o.input, sink);
    if (made.length) {
      await task.change(undefined, `generate ${made.length} key(s) (CA chain, certificates, service secrets) into ${this.path}`, async () => {
        if (!ks) throw new Error('no keystore to save the keys to');
        for (const e of added.values()) ks.put(e);
        await ks.save();
      });
    }
    this.view = keySetView(this.o.input, sink);
    return made;
  }

  /** The key set (from the keystore, or made earlier in this run). */
  async keySet(): Promise<KeySet> {
    if (this.view) return this.view;
    const ks = await this.keystore();
    // upgrade, restore and status read keystores made before the cluster CAs existed: those are not required to read it
    if (!ks || (await this.missing()).some((n) => !isOptionalEntry(n)))
      throw new PalisadeError('install.keys', 'the keystore does not hold the cluster keys yet', {
        hint: 'run the install from the `keys` phase (or without --from/--only)',
      });
    this.view = keySetView(this.o.input, ks);
    return this.view;
  }

  /** The FQDN certificate the operator imported (`certs import`), if any. */
  async importedIngress(): Promise<KeyEntry | undefined> {
    return (await this.keystore())?.get(KEY_NAMES.ingress);
  }
}
