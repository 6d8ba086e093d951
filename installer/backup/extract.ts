/**
 * Unpack a backup into a private directory (0700, files 0600) while it is
 * verified; the directory is only used once the whole file has checked out
 * against its manifest, and is removed when the restore is done with it. The
 * cluster token never reaches the disk.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { OpenKey } from './age.ts';
import { MEMBERS } from './format.ts';
import { readBackup, type ReadResult } from './reader.ts';

export interface Extracted extends ReadResult {
  dir: string;
  /** members that are secrets in plain form, kept in memory only (never written to the directory) */
  secrets: Map<string, Buffer>;
  file(member: string): string;
  remove(): Promise<void>;
}

/** members held in memory, not on disk: the cluster token is the one plain secret in a backup */
const IN_MEMORY = new Set<string>([MEMBERS.token]);

/** unpacked backups of earlier runs that were killed before they could remove theirs */
export async function removeStaleExtracts(parent: string): Promise<void> {
  for (const n of await readdir(parent).catch(() => [] as string[])) if (n.startsWith('.restore-')) await rm(join(parent, n), { recursive: true, force: true });
}

export async function extractBackup(path: string, key: OpenKey, parent: string): Promise<Extracted> {
  await mkdir(parent, { recursive: true, mode: 0o700 });
  const dir = await mkdtemp(join(parent, '.restore-'));
  const secrets = new Map<string, Buffer>();
  try {
    const r = await readBackup(path, key, async (m, data) => {
      if (IN_MEMORY.has(m.path)) {
        const parts: Buffer[] = [];
        for await (const c of data) parts.push(c as Buffer);
        secrets.set(m.path, Buffer.concat(parts));
        return;
      }
      const to = join(dir, m.path);
      await mkdir(dirname(to), { recursive: true, mode: 0o700 });
      await pipeline(data, createWriteStream(to, { mode: 0o600, flags: 'wx' }));
    });
    return { ...r, dir, secrets, file: (member) => join(dir, member), remove: () => rm(dir, { recursive: true, force: true }) };
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}
