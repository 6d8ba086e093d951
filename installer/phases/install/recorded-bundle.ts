import { createPublicKey, type KeyObject } from 'node:crypto';
import { resolve } from 'node:path';
import { readManifestBytes } from '../../bundle/open.ts';
import { keyFingerprint } from '../../bundle/signing.ts';
import { openSource } from '../../bundle/source.ts';
import { sha256Hex } from '../../core/hash.ts';
import { PalisadeError, usageError } from '../../core/errors.ts';
import type { Bundle } from '../../bundle/open.ts';
import type { InstalledBundle, Journal, JournalData } from '../../state/journal.ts';

/**
 * The bundle an install ran from, as the journal keeps it: recorded when an
 * install finishes, used by `install --dry-run` given no --bundle (and, with no
 * --trusted-key and no bundle.trustedKey, the key recorded with it), once it is
 * sure the bundle is still the one installed. Only a dry run is planned from
 * the record: it changes nothing, so a journal edited by hand can mislead it
 * but not make it install anything.
 */

export const manifestDigest = (bytes: Buffer): string => `sha256:${sha256Hex(bytes)}`;

export async function recordInstalledBundle(journal: Journal, bundlePath: string, b: Bundle, trustedKey: KeyObject): Promise<void> {
  await journal.recordInstalled({
    path: resolve(bundlePath),
    name: b.manifest.name,
    version: b.manifest.version,
    manifestDigest: manifestDigest(b.manifestBytes),
    trustedKey: { fingerprint: keyFingerprint(trustedKey), pem: trustedKey.export({ type: 'spki', format: 'pem' }).toString() },
  });
}

export interface RecordedBundle {
  path: string;
  /** the recorded key, when its fingerprint is the one recorded with it */
  trustedKey: KeyObject;
  record: InstalledBundle;
}

/** The recorded bundle, checked to be there and unchanged; a clear refusal naming the flag to give otherwise. */
export async function recordedBundle(journal: JournalData | undefined, journalPath: string): Promise<RecordedBundle> {
  const rec = journal?.installed;
  if (!rec) {
    throw usageError(
      'install.no-bundle',
      `no --bundle given, and the journal (${journalPath}) records no finished install to take the bundle from`,
      'pass --bundle PATH (the bundle directory or .tar)',
    );
  }
  let bytes: Buffer;
  try {
    bytes = await readManifestBytes(await openSource(rec.path));
  } catch (e) {
    throw usageError(
      'install.recorded-bundle-gone',
      `the bundle the last install ran from (${rec.name} ${rec.version}, ${rec.path}) cannot be read: ${e instanceof Error ? e.message : String(e)}`,
      `pass --bundle PATH to plan with a bundle you have (and --trusted-key if palisade.yaml has no bundle.trustedKey)`,
    );
  }
  const got = manifestDigest(bytes);
  if (got !== rec.manifestDigest) {
    throw usageError(
      'install.recorded-bundle-changed',
      `${rec.path} is no longer the bundle the last install ran from (${rec.name} ${rec.version}): its bundle.yaml is ${got.slice(0, 19)}…, the install recorded ${rec.manifestDigest.slice(0, 19)}…`,
      'pass --bundle PATH explicitly to plan with the bundle that is there now (and --trusted-key if palisade.yaml has no bundle.trustedKey)',
    );
  }
  let key: KeyObject;
  try {
    key = createPublicKey(rec.trustedKey.pem);
  } catch {
    throw new PalisadeError('install.recorded-key', `the trusted key recorded in ${journalPath} cannot be read`, {
      hint: 'pass --trusted-key FILE',
      exitCode: 2,
    });
  }
  if (keyFingerprint(key) !== rec.trustedKey.fingerprint) {
    throw new PalisadeError(
      'install.recorded-key',
      `the trusted key recorded in ${journalPath} is not the one its fingerprint (${rec.trustedKey.fingerprint}) names`,
      { hint: 'pass --trusted-key FILE', exitCode: 2 },
    );
  }
  return { path: rec.path, trustedKey: key, record: rec };
}
