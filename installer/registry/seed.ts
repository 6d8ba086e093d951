import type { KeyObject } from 'node:crypto';
import type { Bundle } from '../bundle/open.ts';
import { trustedChecksums } from '../bundle/trust-chain.ts';
import { openBundle } from '../bundle/open.ts';
import { blobPath, type Descriptor } from '../bundle/oci.ts';
import { warmHashWorkers } from '../core/hash.ts';
import { mapLimit } from '../core/limit.ts';
import { RegistryClient, type RegistryClientOptions } from './client.ts';
import { manifestOrder, planSeed, type SeedTarget } from './plan.ts';

/**
 * Seed a registry from a bundle: blobs the registry lacks (HEAD first, or
 * mounted from another repository that has them), several at once, hashed
 * while they stream; then manifests, children before indexes, tags last, so a
 * tag never points at something half-pushed. A re-run after a crash skips
 * everything already there.
 */
export interface SeedOptions extends Omit<RegistryClientOptions, 'url'> {
  bundle: string | Bundle;
  /** check the bundle signature and checksums.txt chain (skip only when verifyBundle ran just before) */
  trustedKey?: KeyObject;
  /** https://host:port */
  url: string;
  /** blobs transferred at once (default 4) */
  concurrency?: number;
  chunkSize?: number;
  onProgress?: (p: SeedProgress) => void;
}

export interface SeedProgress {
  phase: 'checking' | 'blobs' | 'manifests' | 'done';
  blobsDone: number;
  blobsTotal: number;
  bytesDone: number;
  bytesTotal: number;
  manifestsDone: number;
  manifestsTotal: number;
  startedAt: number;
}

export interface SeedReport {
  registry: string;
  images: number;
  packs: number;
  blobs: { total: number; present: number; uploaded: number; mounted: number };
  bytes: { total: number; uploaded: number };
  manifests: { total: number; present: number; pushed: number };
  requests: number;
  retries: number;
  durationMs: number;
}

export async function seedRegistry(opts: SeedOptions): Promise<SeedReport> {
  const started = Date.now();
  // the threads that check each blob's digest while it streams boot during the plan
  warmHashWorkers();
  const bundle = typeof opts.bundle === 'string' ? await openBundle(opts.bundle) : opts.bundle;
  const client = new RegistryClient(opts);
  try {
    const checksums = opts.trustedKey ? await trustedChecksums(bundle, opts.trustedKey) : bundle.signedDigests;
    const targets = await planSeed(bundle, checksums);
    await client.ping();
    return await runSeed(bundle, client, targets, opts, started);
  } finally {
    client.close();
    if (typeof opts.bundle === 'string') await bundle.close();
  }
}

async function runSeed(bundle: Bundle, client: RegistryClient, targets: SeedTarget[], opts: SeedOptions, started: number): Promise<SeedReport> {
  const conc = Math.max(1, opts.concurrency ?? 4);
  const allBlobs = new Set(targets.flatMap((t) => t.blobs.map((b) => `${t.repository}@${b.digest}`)));
  const allManifests = targets.reduce((n, t) => n + manifestOrder(t.root).length, 0);
  const report: SeedReport = {
    registry: client.base.host,
    images: targets.filter((t) => t.kind === 'image').length,
    packs: targets.filter((t) => t.kind === 'pack').length,
    blobs: { total: allBlobs.size, present: 0, uploaded: 0, mounted: 0 },
    bytes: { total: 0, uploaded: 0 },
    manifests: { total: allManifests, present: 0, pushed: 0 },
    requests: 0,
    retries: 0,
    durationMs: 0,
  };
  const progress: SeedProgress = {
    phase: 'checking',
    blobsDone: 0,
    blobsTotal: 0,
    bytesDone: 0,
    bytesTotal: 0,
    manifestsDone: 0,
    manifestsTotal: allManifests,
    startedAt: started,
  };
  const emit = (): void => opts.onProgress?.({ ...progress });
  emit();

  // 1. which images are already complete: a registry stores a manifest only once its blobs are there
  const complete = new Set<SeedTarget>();
  await mapLimit(targets, conc * 2, async (t) => {
    const m = await client.headManifest(t.repository, t.tag);
    if (m && m.digest === t.root.descriptor.digest) complete.add(t);
  });

  // 2. which blobs each remaining repository lacks; where each blob already is
  const where = new Map<string, Set<string>>();
  const needs = new Map<string, { desc: Descriptor; layout: string; repos: string[] }>();
  const checks: Array<{ t: SeedTarget; b: Descriptor }> = [];
  for (const t of targets) {
    if (complete.has(t)) {
      for (const b of t.blobs) (where.get(b.digest) ?? where.set(b.digest, new Set()).get(b.digest))?.add(t.repository);
      report.blobs.present += t.blobs.length;
      report.manifests.present += manifestOrder(t.root).length;
    } else for (const b of t.blobs) checks.push({ t, b });
  }
  const seen = new Set<string>();
  const unique = checks.filter(({ t, b }) => {
    const k = `${t.repository}@${b.digest}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  await mapLimit(unique, conc * 2, async ({ t, b }) => {
    const have = await client.headBlob(t.repository, b.digest);
    if (have && (have.size < 0 || have.size === b.size)) {
      (where.get(b.digest) ?? where.set(b.digest, new Set()).get(b.digest))?.add(t.repository);
      report.blobs.present++;
    } else {
      const n = needs.get(b.digest) ?? needs.set(b.digest, { desc: b, layout: t.layout, repos: [] }).get(b.digest);
      n?.repos.push(t.repository);
    }
  });

  // 3. blobs: upload each missing digest once, mount it into the other repositories
  const work = [...needs.values()].sort((a, b) => b.desc.size - a.desc.size);
  progress.phase = 'blobs';
  progress.blobsTotal = work.reduce((n, w) => n + w.repos.length, 0);
  progress.bytesTotal = work.reduce((n, w) => n + (where.has(w.desc.digest) ? 0 : w.desc.size), 0);
  report.bytes.total = progress.bytesTotal;
  emit();
  const onBytes = (n: number): void => {
    progress.bytesDone += n;
    report.bytes.uploaded += n;
    emit();
  };
  await mapLimit(work, conc, async (w) => {
    const { desc } = w;
    const open = (range?: { start: number; end: number }) => bundle.open(blobPath(w.layout, desc.digest), range);
    for (const repo of w.repos) {
      const from = [...(where.get(desc.digest) ?? [])][0];
      let mounted = false;
      if (from) mounted = await client.mountBlob(repo, desc.digest, from);
      if (mounted) report.blobs.mounted++;
      else {
        const r = await client.uploadBlob(repo, { digest: desc.digest, size: desc.size }, open, {
          ...(opts.chunkSize ? { chunkSize: opts.chunkSize } : {}),
          onBytes,
        });
        if (r === 'mounted') report.blobs.mounted++;
        else report.blobs.uploaded++;
      }
      (where.get(desc.digest) ?? where.set(desc.digest, new Set()).get(desc.digest))?.add(repo);
      progress.blobsDone++;
      emit();
    }
  });

  // 4. manifests, children first, tags last
  progress.phase = 'manifests';
  progress.manifestsDone = report.manifests.present;
  emit();
  await mapLimit(
    targets.filter((t) => !complete.has(t)),
    conc,
    async (t) => {
      for (const node of manifestOrder(t.root)) {
        const isRoot = node === t.root;
        const ref = isRoot ? t.tag : node.descriptor.digest;
        const have = isRoot ? undefined : await client.headManifest(t.repository, node.descriptor.digest);
        if (have) report.manifests.present++;
        else {
          await client.putManifest(t.repository, ref, node.bytes, node.mediaType);
          report.manifests.pushed++;
        }
        progress.manifestsDone++;
        emit();
      }
    },
  );

  progress.phase = 'done';
  emit();
  report.requests = client.stats.requests;
  report.retries = client.stats.retries;
  report.durationMs = Date.now() - started;
  return report;
}
