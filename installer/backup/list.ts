/**
 * `palisade backup list` and `--keep N`: the backups in a directory, read from
 * their side files (nothing is decrypted, so it works for backups sealed to a
 * recipient whose key is not here), and pruning the oldest of one cluster.
 */
import { readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { BACKUP_SUFFIX, backupsToPrune, metaPathOf, metaSchema, type BackupMeta } from './format.ts';

export interface ListedBackup {
  path: string;
  bytes: number;
  /** from the side file; a backup without one shows its file time */
  createdAt: string;
  meta?: BackupMeta;
  /** the side file is missing or does not describe this file */
  problem?: string;
}

export async function listBackups(dir: string): Promise<ListedBackup[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: ListedBackup[] = [];
  for (const n of names.filter((x) => x.endsWith(BACKUP_SUFFIX)).sort()) {
    const path = join(dir, n);
    const st = await stat(path).catch(() => undefined);
    if (!st?.isFile()) continue;
    const b: ListedBackup = { path, bytes: st.size, createdAt: st.mtime.toISOString() };
    try {
      const m = metaSchema.safeParse(JSON.parse(await readFile(metaPathOf(path), 'utf8')));
      if (!m.success) b.problem = 'side file unreadable';
      else {
        b.meta = m.data;
        b.createdAt = m.data.createdAt;
        if (m.data.bytes !== st.size) b.problem = `${st.size} bytes, ${m.data.bytes} when written: truncated or changed`;
      }
    } catch {
      b.problem = 'no side file (run `backup verify` on it)';
    }
    out.push(b);
  }
  return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

/** Remove all but the newest `keep` backups of `cluster` in `dir` (backup and side file). Returns the removed paths. */
export async function pruneBackups(dir: string, cluster: string, keep: number): Promise<string[]> {
  const mine = (await listBackups(dir)).filter((b) => b.meta?.cluster === cluster);
  const gone: string[] = [];
  for (const b of backupsToPrune(mine, keep)) {
    await unlink(b.path);
    await unlink(metaPathOf(b.path)).catch(() => undefined);
    gone.push(b.path);
  }
  return gone;
}
