import { collectBlobs, readLayoutIndex, resolveManifest, type LayoutReader, type ManifestNode } from '../bundle/layout.ts';
import type { Bundle } from '../bundle/open.ts';
import { REF_NAME, type Descriptor } from '../bundle/oci.ts';
import { PalisadeError } from '../core/errors.ts';
import { sha256Hex } from '../core/hash.ts';

/** What seeding (and registry verify) must put in the registry for a bundle. */
export interface SeedTarget {
  kind: 'image' | 'pack';
  repository: string;
  tag: string;
  /** the bundle layout the content comes from */
  layout: string;
  root: ManifestNode;
  blobs: Descriptor[];
}

/**
 * A layout reader over the bundle; with `checksums` (from trustedChecksums)
 * every file read must match checksums.txt, and every blob listed must be
 * listed under its own digest, so streaming verification of blobs closes the
 * chain from the signature down to the last byte.
 */
export function bundleReader(bundle: Bundle, checksums?: ReadonlyMap<string, string>): LayoutReader {
  const mismatch = (p: string, why: string): PalisadeError =>
    new PalisadeError('bundle.digest-mismatch', `bundle ${bundle.path}: ${p} ${why}`, {
      hint: 'run `palisade bundle verify`; the bundle is damaged or was tampered with',
    });
  return {
    has: (p) => bundle.has(p),
    size: (p) => {
      if (checksums && /\/blobs\/sha256\/[0-9a-f]{64}$/.test(p) && bundle.has(p) && checksums.get(p) !== p.slice(-64))
        throw mismatch(p, 'is not listed in checksums.txt under its digest');
      return bundle.files.get(p)?.size;
    },
    read: async (p) => {
      const data = await bundle.read(p);
      if (checksums && checksums.get(p) !== sha256Hex(data)) throw mismatch(p, 'does not match checksums.txt');
      return data;
    },
  };
}

export async function planSeed(bundle: Bundle, checksums?: ReadonlyMap<string, string>): Promise<SeedTarget[]> {
  const reader = bundleReader(bundle, checksums);
  const out: SeedTarget[] = [];
  const comps = [
    ...bundle.manifest.components.images.map((c) => ({ ...c, kind: 'image' as const })),
    ...bundle.manifest.components.packs.map((c) => ({ ...c, kind: 'pack' as const })),
  ];
  const indexes = new Map<string, Awaited<ReturnType<typeof readLayoutIndex>>>();
  for (const c of comps) {
    let index = indexes.get(c.layout);
    if (!index) {
      index = await readLayoutIndex(reader, c.layout);
      indexes.set(c.layout, index);
    }
    const ref = `${c.repository}:${c.tag}`;
    const desc = index.manifests.find((d) => d.annotations?.[REF_NAME] === ref);
    if (!desc || desc.digest !== c.digest) {
      throw new PalisadeError('bundle.oci-invalid', `${ref}: ${c.layout}/index.json does not hold ${c.digest}`, {
        hint: 'run `palisade bundle verify` on the bundle',
      });
    }
    const root = await resolveManifest(reader, c.layout, desc);
    out.push({ kind: c.kind, repository: c.repository, tag: c.tag, layout: c.layout, root, blobs: [...collectBlobs(root).values()] });
  }
  return out;
}

/** Child manifests first, the root last: an index may only be stored once its manifests are. */
export function manifestOrder(node: ManifestNode): ManifestNode[] {
  return [...node.children.flatMap(manifestOrder), node];
}
