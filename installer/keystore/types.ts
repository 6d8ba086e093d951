import type { EscrowEntry, EscrowStore } from '../encryption/types.ts';

/** What kind of secret an entry holds (decides how `keys rotate` renews it). */
export type KeyKind =
  | 'root-ca'
  | 'intermediate-ca'
  | 'cluster-ca'
  | 'tls-server'
  | 'tls-client'
  | 'join-token'
  | 'encryption-key'
  | 'jwt-signing-key'
  | 'password-salt'
  | 'registry-credentials'
  | 'luks-recovery'
  | 'ingress-tls';

/**
 * One secret. `value` is the secret itself (a private key PEM, a token);
 * `meta` holds only public facts (certificate PEM, chain, fingerprint, SANs,
 * user name) and is what `keys list` may show.
 */
export interface KeyEntry extends EscrowEntry {
  name: string;
  kind: KeyKind | (string & {});
  value: string;
  meta?: Record<string, string>;
  createdAt?: string;
  expiresAt?: string;
}

/**
 * Something done with a secret that the operator may need to account for later
 * (who saw the registry password, when a recovery key left the keystore). Says
 * when, which entry and where it went; never the value.
 */
export interface KeystoreEvent {
  at: string;
  event: 'revealed' | 'written-to-file';
  name: string;
  /** "terminal", "stdout", or the file it was written to */
  to: string;
  /** the command that did it, e.g. "keys reveal" */
  by: string;
}

/** The previous version of NAME after `keys rotate NAME`, kept until `keys prune`. */
export const PREVIOUS_SUFFIX = '@prev';

export interface Keystore extends EscrowStore {
  readonly path: string;
  readonly cluster: string;
  get(name: string): KeyEntry | undefined;
  put(entry: KeyEntry): void;
  delete(name: string): boolean;
  list(): KeyEntry[];
  /** events recorded with record(), oldest first */
  history(): KeystoreEvent[];
  /** add an event; kept at the next save() */
  record(event: Omit<KeystoreEvent, 'at'>): void;
  /** encrypt and write atomically under the lock */
  save(): Promise<void>;
  /** re-encrypt under a new passphrase (atomically, under the lock) */
  changePassphrase(newPassphrase: string): Promise<void>;
  /** write an encrypted copy to another file under another passphrase */
  exportTo(path: string, passphrase: string): Promise<void>;
}
