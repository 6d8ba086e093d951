import type { Bundle } from '../bundle/open.ts';
import { openBundle } from '../bundle/open.ts';
import { mapLimit } from '../core/limit.ts';
import { RegistryClient, type RegistryClientOptions } from './client.ts';
import { manifestOrder, planSeed } from './plan.ts';
import { hashStream } from '../core/hash.ts';

/**
 * Check that the registry holds every image and pack of a bundle, correctly:
 * tags point at the bundle's digests, every manifest is there and hashes
 * right, every blob is there with the right size and digest (`deep` also
 * downloads and hashes each blob).
 */
export interface RegistryVerifyOptions extends Omit<RegistryClientOptions, 'url'> {
  bundle: string | Bundle;
  url: string;
  deep?: boolean;
  concurrency?: number;
}

export interface RegistryProblem {
  repository: string;
  ref: string;
  message: string;
}

export interface RegistryVerifyReport {
  ok: boolean;
  registry: string;
  images: number;
  manifests: number;
  blobs: number;
  problems: RegistryProblem[];
  durationMs: number;
}

export async function verifyRegistry(opts: RegistryVerifyOptions): Promise<RegistryVerifyReport> {
  const started = Date.now();
  const bundle = typeof opts.bundle === 'string' ? await openBundle(opts.bundle) : opts.bundle;
  const client = new RegistryClient(opts);
  const problems: RegistryProblem[] = [];
  let manifests = 0;
  let blobs = 0;
  try {
    const targets = await planSeed(bundle);
    await client.ping();
    await mapLimit(targets, opts.concurrency ?? 4, async (t) => {
      const tagged = await client.getManifest(t.repository, t.tag);
      if (!tagged) problems.push({ repository: t.repository, ref: t.tag, message: 'tag is missing' });
      else if (tagged.digest !== t.root.descriptor.digest)
        problems.push({ repository: t.repository, ref: t.tag, message: `tag points at ${tagged.digest}, the bundle has ${t.root.descriptor.digest}` });
      for (const node of manifestOrder(t.root)) {
        manifests++;
        if (node === t.root && tagged?.digest === node.descriptor.digest) continue;
        const m = await client.getManifest(t.repository, node.descriptor.digest);
        if (!m) problems.push({ repository: t.repository, ref: node.descriptor.digest, message: 'manifest is missing' });
      }
      await mapLimit(t.blobs, 4, async (b) => {
        blobs++;
        const have = await client.headBlob(t.repository, b.digest);
        if (!have) return void problems.push({ repository: t.repository, ref: b.digest, message: `blob (${b.mediaType}) is missing` });
        if (have.size >= 0 && have.size !== b.size)
          return void problems.push({ repository: t.repository, ref: b.digest, message: `blob is ${have.size} bytes, expected ${b.size}` });
        if (have.digest !== b.digest) return void problems.push({ repository: t.repository, ref: b.digest, message: `registry reports digest ${have.digest}` });
        if (opts.deep) {
          const got = `sha256:${(await hashStream(await client.getBlob(t.repository, b.digest))).sha256}`;
          if (got !== b.digest) problems.push({ repository: t.repository, ref: b.digest, message: `blob content hashes to ${got}` });
        }
      });
    });
  } finally {
    client.close();
    if (typeof opts.bundle === 'string') await bundle.close();
  }
  return {
    ok: problems.length === 0,
    registry: client.base.host,
    images: bundle.manifest.components.images.length + bundle.manifest.components.packs.length,
    manifests,
    blobs,
    problems,
    durationMs: Date.now() - started,
  };
}
