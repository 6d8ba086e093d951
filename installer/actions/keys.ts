import { resolve } from 'node:path';
import { loadConfig, type LoadedConfig } from '../config/load.ts';
import { PalisadeError, usageError } from '../core/errors.ts';
import { KeystoreSession } from '../keystore/session.ts';
import { keystoreExists, keystorePath } from '../keystore/store.ts';
import { PREVIOUS_SUFFIX, type KeyEntry, type Keystore } from '../keystore/types.ts';
import { ensureKeySet, keySetSpecs, renewEntry, KEY_NAMES } from '../pki/keyset.ts';
import { keySetInput } from '../pki/keyset-input.ts';
import type { KeyAlgorithm } from '../pki/x509.ts';
import { sha256Digest } from '../core/hash.ts';

/**
 * What the `keys` and `certs` commands do, apart from parsing flags and
 * printing: the cluster keystore opened through one session, key generation,
 * rotation, pruning, passphrase change and recovery export.
 */
export { keySetInput };

export interface KeystoreFlags {
  config?: string;
  keystore?: string;
  passphraseFile?: string;
}

export interface ClusterKeystore {
  loaded: LoadedConfig | undefined;
  path: string;
  ks: Keystore;
  session: KeystoreSession;
  passphrase: string;
  created: boolean;
}

/** The cluster's keystore (or the file given with --keystore); created when `create` and it does not exist. */
export async function openClusterKeystore(f: KeystoreFlags, o: { create?: boolean; needConfig?: boolean } = {}): Promise<ClusterKeystore> {
  const loaded = f.keystore && !o.needConfig ? undefined : await loadConfig(f.config);
  const path = f.keystore ? resolve(f.keystore) : keystorePath(loaded!.baseDir, loaded!.config.cluster.name);
  const session = new KeystoreSession({
    path,
    ...(loaded ? { cluster: loaded.config.cluster.name } : {}),
    ...(f.passphraseFile ? { passphraseFile: f.passphraseFile } : {}),
  });
  const ks = o.create ? await session.openOrCreate() : await session.require();
  return { loaded, path, ks, session, passphrase: await session.passphrase(), created: session.created };
}

/** Make what the keystore lacks; save only when something was made. */
export async function generateKeys(c: ClusterKeystore, algorithm?: KeyAlgorithm): Promise<{ made: string[]; total: number }> {
  const input = keySetInput(c.loaded!.config, algorithm);
  const made = await ensureKeySet(input, c.ks);
  if (made.length > 0 || c.created) await c.ks.save();
  return { made, total: keySetSpecs(input).length };
}

export const shortFingerprint = (e: KeyEntry): string => {
  const fp = e.meta?.fingerprint ?? sha256Digest(e.value);
  return fp.slice(0, 'sha256:'.length + 16);
};

/** The public facts about an entry that `keys list` shows. Never the value. */
export function describeEntry(e: KeyEntry): Record<string, string> {
  const out: Record<string, string> = { name: e.name, kind: e.kind, fingerprint: shortFingerprint(e) };
  if (e.createdAt) out.createdAt = e.createdAt;
  if (e.expiresAt) out.expiresAt = e.expiresAt;
  for (const k of ['subject', 'usage', 'dns', 'ip', 'fqdn', 'username', 'host', 'device', 'uuid', 'previousOf', 'rotatedAt'] as const) {
    const v = e.meta?.[k];
    if (v) out[k] = v;
  }
  return out;
}

export interface RotateResult {
  name: string;
  previous: string;
  notes: string[];
}

/** A new version of NAME; the old one stays as NAME@prev until pruned. */
export async function rotateEntry(c: ClusterKeystore, name: string, now = new Date()): Promise<RotateResult> {
  const old = c.ks.get(name);
  if (!old) {
    const close = c.ks
      .list()
      .map((e) => e.name)
      .filter((n) => n.includes(name.split('/').pop() ?? name))
      .slice(0, 5);
    throw usageError('keys.unknown', `no keystore entry named ${name}`, close.length ? `did you mean ${close.join(', ')}?` : 'see `palisade keys list`');
  }
  if (name.endsWith(PREVIOUS_SUFFIX))
    throw usageError('keys.rotate-prev', `${name} is a previous version; rotate ${name.slice(0, -PREVIOUS_SUFFIX.length)} instead`);
  if (old.kind === 'luks-recovery')
    throw usageError(
      'keys.rotate-luks',
      `${name} is a disk's LUKS recovery key: it changes with the disk`,
      'run `palisade encryption apply` after re-keying the disk; palisade does not re-key a LUKS volume from here',
    );
  if (old.kind === 'ingress-tls')
    throw usageError(
      'keys.rotate-imported',
      `${name} is the operator's imported certificate`,
      'import its replacement with `palisade certs import` (the current one is kept as the previous version)',
    );
  if (old.kind === 'cluster-ca') {
    // the cluster keeps its CAs in its datastore from its first start on: a new one here would never reach it
    throw usageError(
      'keys.rotate-cluster-ca',
      `${name} is one of the cluster's own CAs, which the cluster keeps from its first start`,
      'rotating it is done in the cluster (`k3s certificate rotate-ca`, servers then agents restarted); palisade does not do it yet',
    );
  }
  const prevName = `${name}${PREVIOUS_SUFFIX}`;
  if (c.ks.get(prevName)) {
    throw usageError(
      'keys.rotate-pending',
      `${prevName} still holds the version before the current one`,
      `once nothing uses it any more, run \`palisade keys prune ${name}\`, then rotate again`,
    );
  }
  const input = { ...keySetInput(c.loaded!.config), now };
  const fresh = await renewEntry(input, c.ks, name).catch((e: unknown) => {
    throw new PalisadeError('keys.rotate', `cannot make a new ${name}: ${e instanceof Error ? e.message : String(e)}`);
  });
  c.ks.put({ ...old, name: prevName, meta: { ...(old.meta ?? {}), previousOf: name, rotatedAt: now.toISOString() } });
  c.ks.put(fresh);
  await c.ks.save();
  const notes: string[] = [];
  if (old.kind === 'root-ca')
    notes.push(
      `the intermediate CA still chains to the previous root: rotate ${KEY_NAMES.intermediateCa}, then the leaf certificates, and distribute the new root before pruning`,
    );
  if (old.kind === 'intermediate-ca') notes.push('leaf certificates issued before still chain to the previous intermediate: rotate them, then prune it');
  if (old.kind === 'registry-credentials') notes.push('the registry accepts the new password once its htpasswd file is updated (re-run the install)');
  return { name, previous: prevName, notes };
}

/** Drop previous versions (of NAME, or all). */
export async function pruneEntries(c: ClusterKeystore, name?: string): Promise<string[]> {
  const gone = c.ks
    .list()
    .map((e) => e.name)
    .filter((n) => n.endsWith(PREVIOUS_SUFFIX) && (!name || n === `${name}${PREVIOUS_SUFFIX}`));
  for (const n of gone) c.ks.delete(n);
  if (gone.length) await c.ks.save();
  return gone;
}

/** `keys passphrase`: re-encrypt under a new passphrase, which must differ from the current one. */
export async function changePassphrase(c: ClusterKeystore, newPassphraseFile?: string): Promise<void> {
  const next = await c.session.otherPassphrase({
    env: 'PALISADE_NEW_PASSPHRASE',
    fileOption: '--new-passphrase-file',
    label: 'new keystore passphrase',
    ...(newPassphraseFile ? { file: newPassphraseFile } : {}),
    sameError: { code: 'keys.passphrase-same', message: 'the new passphrase is the current one; nothing was changed' },
  });
  await c.ks.changePassphrase(next);
}

/** Refuse to overwrite an export target unless told to (checked before any passphrase is asked). */
export async function checkExportTarget(file: string, force: boolean): Promise<void> {
  if (!force && (await keystoreExists(file)))
    throw usageError('keys.export-exists', `${file} already exists`, 'pass --force to replace it, or choose another file');
}

/** `keys export-recovery`: an encrypted copy under a separate recovery passphrase. */
export async function exportRecovery(c: ClusterKeystore, file: string, recoveryPassphraseFile?: string): Promise<void> {
  const rec = await c.session.otherPassphrase({
    env: 'PALISADE_RECOVERY_PASSPHRASE',
    fileOption: '--recovery-passphrase-file',
    label: 'recovery passphrase',
    ...(recoveryPassphraseFile ? { file: recoveryPassphraseFile } : {}),
    sameError: {
      code: 'keys.recovery-same',
      message: 'the recovery passphrase must differ from the keystore passphrase',
      hint: 'choose a separate passphrase and keep it apart from the copy',
    },
  });
  await c.ks.exportTo(file, rec);
}
