/**
 * The encrypted local keystore: the operator's recovery copy of every secret.
 * One file per cluster, AES-256-GCM under a scrypt key from a passphrase,
 * written atomically (mode 0600) under a lock.
 */
export { createKeystore, keystoreExists, keystorePath, openKeystore, type KeystoreOptions } from './store.ts';
export { resolvePassphrase, promptHidden, MIN_PASSPHRASE_LENGTH, type PassphraseSource, type TtyInput } from './passphrase.ts';
export { PREVIOUS_SUFFIX, type KeyEntry, type KeyKind, type Keystore, type KeystoreEvent } from './types.ts';
