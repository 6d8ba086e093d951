import { describe, expect, it } from 'vitest';
import { progressLine, seedSummary } from '../../installer/registry/progress.ts';

describe('seed counts that add up', () => {
  const report = {
    images: 9,
    packs: 2,
    blobs: { total: 28, uploaded: 25, mounted: 3, present: 0 },
    manifests: { total: 11, pushed: 11, present: 0 },
    bytes: { total: 1 << 20, uploaded: 1 << 20 },
    durationMs: 1500,
  };

  it('says what each number counts, and the parts sum to the totals', () => {
    const line = seedSummary(report);
    expect(line).toBe(
      '9 images and 2 packs: 28 blobs (25 uploaded, 3 mounted from another repository, 0 already there), 11 manifests (11 pushed, 0 already there); 1.0 MiB uploaded in 1.5 s',
    );
    const m =
      /: (\d+) blobs \((\d+) uploaded, (\d+) mounted from another repository, (\d+) already there\), (\d+) manifests \((\d+) pushed, (\d+) already there\)/
        .exec(line)!
        .slice(1)
        .map(Number);
    expect(m[1]! + m[2]! + m[3]!).toBe(m[0]);
    expect(m[5]! + m[6]!).toBe(m[4]);
  });

  it('progress counts the blobs the registry lacks, not all of them', () => {
    expect(
      progressLine({ phase: 'blobs', blobsDone: 3, blobsTotal: 25, bytesDone: 0, bytesTotal: 0, manifestsDone: 0, manifestsTotal: 11, startedAt: Date.now() }),
    ).toMatch(/^seed: blobs the registry lacks 3\/25, /);
  });
});
