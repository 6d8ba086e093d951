/**
 * Revealing one secret on purpose (`palisade keys reveal`, `registry login`): the
 * event is recorded in the keystore's history and saved BEFORE the value leaves,
 * so a reveal is never unaccounted for. The value goes to the given stream or a
 * 0600 file only: never to the log, argv or an environment.
 */
import { access } from 'node:fs/promises';
import { writeFileAtomic } from '../core/atomic.ts';
import { usageError } from '../core/errors.ts';
import type { KeyEntry, Keystore } from './types.ts';

export type RevealTarget =
  | { kind: 'stream'; stream: NodeJS.WritableStream; label: 'terminal' | 'stdout' }
  | { kind: 'file'; path: string; force?: boolean }
  /** the caller prints the value inside its own document (`--output json`) */
  | { kind: 'document' };

/** The entry whose value may be revealed; a usage error naming what exists otherwise. */
export function revealable(ks: Keystore, name: string): KeyEntry {
  const e = ks.get(name);
  if (!e) throw usageError('keys.unknown', `no keystore entry named ${name}`, 'see `palisade keys list`');
  if (!e.value) throw usageError('keys.no-value', `${name} (${e.kind}) holds no secret value`, 'its public facts are in `palisade keys show`');
  return e;
}

/** Record, save, then write the value. Returns where it went. */
export async function revealEntry(
  ks: Keystore,
  name: string,
  target: RevealTarget,
  by: string,
): Promise<{ name: string; kind: string; to: string; value?: string }> {
  const e = revealable(ks, name);
  if (
    target.kind === 'file' &&
    !target.force &&
    (await access(target.path).then(
      () => true,
      () => false,
    ))
  ) {
    throw usageError('keys.reveal-exists', `${target.path} already exists`, 'pass --force to replace it, or choose another file');
  }
  const to = target.kind === 'file' ? target.path : target.kind === 'document' ? 'stdout' : target.label;
  ks.record({ event: target.kind === 'file' ? 'written-to-file' : 'revealed', name, to, by });
  await ks.save();
  const text = e.value.endsWith('\n') ? e.value : `${e.value}\n`;
  if (target.kind === 'document') return { name, kind: e.kind, to, value: e.value };
  if (target.kind === 'file') await writeFileAtomic(target.path, text, { mode: 0o600 });
  else target.stream.write(text);
  return { name, kind: e.kind, to };
}
