/**
 * Unpack a backup into a private directory (0700, files 0600) while it is
 * verified; the directory is only used once the whole file has checked out
 * against its manifest, and is removed when the restore is done with it.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { OpenKey } from './age.ts';
import { readBackup, type ReadResult } from './reader.ts';

export interface Extracted extends ReadResult {
  dir: string;
  file(member: string): string;
  remove(): Promise<void>;
}

export async function extractBackup(path: string, key: OpenKey, parent: string): Promise<Extracted> {
  await mkdir(parent, { recursive: true, mode: 0o700 });
  const dir = await mkdtemp(join(parent, '.restore-'));
  try {
    const r = await readBackup(path, key, async (m, data) => {
      const to = join(dir, m.path);
      await mkdir(dirname(to), { recursive: true, mode: 0o700 });
      await pipeline(data, createWriteStream(to, { mode: 0o600, flags: 'wx' }));
    });
    return { ...r, dir, file: (member) => join(dir, member), remove: () => rm(dir, { recursive: true, force: true }) };
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}
