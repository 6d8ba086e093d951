import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { mapLimit } from '../core/limit.ts';

/** SHA-256 of a stream, chunk by chunk: memory stays at one read buffer per file. */
export async function hashStream(stream: Readable): Promise<{ sha256: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    h.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: h.digest('hex'), size };
}

export interface HashProgress {
  files: number;
  bytes: number;
}

/** Hash many files at once; `open` gives a fresh stream for a path. */
export async function hashAll(
  paths: readonly string[],
  open: (path: string) => Readable,
  opts: { concurrency?: number; onFile?: (path: string, size: number) => void } = {},
): Promise<Map<string, { sha256: string; size: number }>> {
  const out = new Map<string, { sha256: string; size: number }>();
  await mapLimit(paths, opts.concurrency ?? 4, async (p) => {
    const r = await hashStream(open(p));
    out.set(p, r);
    opts.onFile?.(p, r.size);
  });
  return out;
}
