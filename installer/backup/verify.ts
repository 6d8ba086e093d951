/**
 * `palisade backup verify`: open the file, check every member against the
 * manifest, and say what the backup holds. Nothing is written anywhere.
 */
import { stat } from 'node:fs/promises';
import { PalisadeError } from '../core/errors.ts';
import type { OpenKey } from './age.ts';
import type { BackupHeader } from './format.ts';
import { readBackup } from './reader.ts';

export interface VerifyReport {
  file: string;
  ok: true;
  bytes: number;
  members: number;
  memberBytes: number;
  header: BackupHeader;
  durationMs: number;
}

export async function verifyBackup(path: string, key: OpenKey): Promise<VerifyReport> {
  const t0 = performance.now();
  const st = await stat(path).catch(() => undefined);
  if (!st?.isFile())
    throw new PalisadeError('backup.missing', `${path}: no such backup file`, { exitCode: 2, hint: '`palisade backup list DIR` shows the backups there' });
  const r = await readBackup(path, key);
  return {
    file: path,
    ok: true,
    bytes: st.size,
    members: r.members.length,
    memberBytes: r.members.reduce((a, m) => a + m.size, 0),
    header: r.header,
    durationMs: Math.round(performance.now() - t0),
  };
}

export function renderVerify(r: VerifyReport): string {
  const h = r.header;
  return [
    `${r.file}: verified, ${r.members} members match the manifest (${formatBytes(r.memberBytes)} inside, ${formatBytes(r.bytes)} on disk)`,
    `  cluster   ${h.cluster} (${h.fqdn}), taken ${h.createdAt} from ${h.takenFrom.controller} by ${h.takenFrom.admin}`,
    `  versions  palisade ${h.versions.palisade}, cluster ${h.versions.cluster ?? '?'}, bundle ${h.versions.bundle ?? '?'}`,
    `  holds     datastore snapshot ${h.snapshot.name}, ${h.luksHeaders.length} LUKS header(s), registry ${h.withRegistry ? 'index and blobs' : 'index'}`,
  ].join('\n');
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}
