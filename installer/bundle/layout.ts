import {
  blobPath,
  detectMediaType,
  indexSchema,
  isIndexType,
  isManifestType,
  manifestChildren,
  sha256Digest,
  type Descriptor,
  type ImageIndex,
} from './oci.ts';
import { PalisadeError } from '../core/errors.ts';

/**
 * Walk an OCI image layout through a reader (directory or tar bundle alike):
 * from index.json to every manifest, and from every manifest to its blobs. The
 * manifests are read and their digests checked; blobs are only listed.
 */
export interface LayoutReader {
  has(path: string): boolean;
  size(path: string): number | undefined;
  read(path: string): Promise<Buffer>;
}

export interface ManifestNode {
  descriptor: Descriptor;
  mediaType: string;
  bytes: Buffer;
  /** child manifests (an index) */
  children: ManifestNode[];
  /** config and layers (a manifest) */
  blobs: Descriptor[];
}

const ociError = (message: string): PalisadeError =>
  new PalisadeError('bundle.oci-invalid', message, { hint: 'the image layout in the bundle is damaged or incomplete: get the bundle again, or rebuild it' });

export async function readLayoutIndex(r: LayoutReader, layout: string): Promise<ImageIndex> {
  const p = `${layout}/index.json`;
  if (!r.has(p)) throw ociError(`${layout} is not an OCI image layout: ${p} is missing`);
  if (!r.has(`${layout}/oci-layout`)) throw ociError(`${layout} is not an OCI image layout: ${layout}/oci-layout is missing`);
  let body: unknown;
  try {
    body = JSON.parse((await r.read(p)).toString('utf8'));
  } catch {
    throw ociError(`${p} is not valid JSON`);
  }
  const parsed = indexSchema.safeParse(body);
  if (!parsed.success) throw ociError(`${p} is not an OCI image index: ${parsed.error.issues[0]?.message ?? ''}`);
  return parsed.data;
}

/** Read a manifest (or index) and everything below it; checks manifest digests and that every blob is present with the right size. */
export async function resolveManifest(r: LayoutReader, layout: string, desc: Descriptor, depth = 0): Promise<ManifestNode> {
  if (depth > 2) throw ociError(`${layout}: indexes nested too deep at ${desc.digest}`);
  const p = blobPath(layout, desc.digest);
  if (!r.has(p)) throw ociError(`${layout}: manifest ${desc.digest} is referenced but its blob ${p} is missing`);
  const bytes = await r.read(p);
  if (bytes.length !== desc.size) throw ociError(`${layout}: manifest ${desc.digest} is ${bytes.length} bytes, its descriptor says ${desc.size}`);
  if (sha256Digest(bytes) !== desc.digest) {
    throw new PalisadeError('bundle.oci-blob-mismatch', `${p}: content does not match its digest ${desc.digest}`, {
      hint: 'the bundle is damaged or was tampered with: do not use it',
    });
  }
  let body: unknown;
  try {
    body = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw ociError(`${p} is not valid JSON`);
  }
  const mediaType = detectMediaType(body, desc.mediaType);
  if (!isIndexType(mediaType) && !isManifestType(mediaType)) throw ociError(`${layout}: ${desc.digest} has unsupported media type ${mediaType}`);
  let kids: ReturnType<typeof manifestChildren>;
  try {
    kids = manifestChildren(mediaType, body);
  } catch (e) {
    throw ociError(`${p} is not a valid ${mediaType}: ${(e as Error).message.split('\n')[0]}`);
  }
  const children: ManifestNode[] = [];
  for (const c of kids.manifests) children.push(await resolveManifest(r, layout, c, depth + 1));
  for (const b of kids.blobs) {
    const bp = blobPath(layout, b.digest);
    const size = r.size(bp);
    if (size === undefined) throw ociError(`${layout}: blob ${b.digest} (${b.mediaType}) of manifest ${desc.digest} is missing`);
    if (size !== b.size) throw ociError(`${layout}: blob ${b.digest} is ${size} bytes, manifest ${desc.digest} says ${b.size}`);
  }
  return { descriptor: desc, mediaType, bytes, children, blobs: kids.blobs };
}

/** Every distinct blob (config/layer) below a manifest node. */
export function collectBlobs(node: ManifestNode, into = new Map<string, Descriptor>()): Map<string, Descriptor> {
  for (const b of node.blobs) if (!into.has(b.digest)) into.set(b.digest, b);
  for (const c of node.children) collectBlobs(c, into);
  return into;
}
