import type { SeedProgress, SeedReport } from './seed.ts';

/**
 * Seeding progress on stderr: one line rewritten in place on a terminal; on a
 * pipe or CI log, a line at each phase change and every few seconds.
 */
const MiB = 1 << 20;

export function formatBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GiB`;
  if (n >= MiB) return `${(n / MiB).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

export function progressLine(p: SeedProgress, now = Date.now()): string {
  const secs = Math.max(0.001, (now - p.startedAt) / 1000);
  const rate = p.bytesDone / secs;
  switch (p.phase) {
    case 'checking':
      return 'seed: checking what the registry already has';
    case 'blobs': {
      const pct = p.bytesTotal > 0 ? ` ${Math.floor((100 * p.bytesDone) / p.bytesTotal)}%` : '';
      const eta = rate > 0 && p.bytesTotal > p.bytesDone ? `, ~${Math.ceil((p.bytesTotal - p.bytesDone) / rate)} s left` : '';
      return `seed: blobs the registry lacks ${p.blobsDone}/${p.blobsTotal}, ${formatBytes(p.bytesDone)} of ${formatBytes(p.bytesTotal)}${pct} at ${formatBytes(rate)}/s${eta}`;
    }
    case 'manifests':
      return `seed: manifests ${p.manifestsDone}/${p.manifestsTotal}`;
    case 'done':
      return `seed: done, ${formatBytes(p.bytesDone)} uploaded in ${secs.toFixed(1)} s (${formatBytes(rate)}/s)`;
  }
}

export interface ProgressRenderer {
  update(p: SeedProgress): void;
  finish(): void;
}

export function progressRenderer(out: NodeJS.WriteStream = process.stderr, opts: { tty?: boolean; intervalMs?: number } = {}): ProgressRenderer {
  const tty = opts.tty ?? out.isTTY === true;
  const interval = opts.intervalMs ?? (tty ? 100 : 5000);
  let last = 0;
  let lastPhase = '';
  let pending: SeedProgress | undefined;
  let dirty = false;
  const write = (p: SeedProgress): void => {
    const line = progressLine(p);
    if (tty) out.write(`\r\x1b[K${line}`);
    else out.write(`${line}\n`);
    dirty = tty;
    last = Date.now();
    pending = undefined;
  };
  return {
    update(p) {
      pending = p;
      if (p.phase !== lastPhase || Date.now() - last >= interval) {
        lastPhase = p.phase;
        write(p);
      }
    },
    finish() {
      if (pending && pending.phase !== 'done') write(pending);
      if (dirty) out.write('\n');
      dirty = false;
    },
  };
}

/**
 * The one-line result of a seed, where every count says what it counts and the
 * parts add up: blobs = uploaded + mounted + already there; manifests = pushed +
 * already there. The install and `registry seed` print the same line.
 */
export function seedSummary(r: Pick<SeedReport, 'images' | 'packs' | 'blobs' | 'manifests' | 'bytes' | 'durationMs'>): string {
  return (
    `${r.images} images and ${r.packs} packs: ${r.blobs.total} blobs (${r.blobs.uploaded} uploaded, ${r.blobs.mounted} mounted from another repository, ${r.blobs.present} already there), ` +
    `${r.manifests.total} manifests (${r.manifests.pushed} pushed, ${r.manifests.present} already there); ${formatBytes(r.bytes.uploaded)} uploaded in ${(r.durationMs / 1000).toFixed(1)} s`
  );
}
