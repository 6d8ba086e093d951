import { z } from 'zod';

/** OCI image-spec types and media types the bundle and the registry client share. */
export const MT = {
  layout: 'application/vnd.oci.layout.header.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
} as const;

export const REF_NAME = 'org.opencontainers.image.ref.name';

export const MANIFEST_TYPES: readonly string[] = [MT.ociManifest, MT.dockerManifest];
export const INDEX_TYPES: readonly string[] = [MT.ociIndex, MT.dockerList];
export const isIndexType = (mt: string): boolean => INDEX_TYPES.includes(mt);
export const isManifestType = (mt: string): boolean => MANIFEST_TYPES.includes(mt);

export const digestSchema = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256:<64 hex>');

export const descriptorSchema = z
  .object({
    mediaType: z.string().min(1),
    digest: digestSchema,
    size: z.number().int().nonnegative(),
    annotations: z.record(z.string(), z.string()).optional(),
    artifactType: z.string().optional(),
    platform: z.object({ architecture: z.string(), os: z.string(), variant: z.string().optional() }).passthrough().optional(),
  })
  .passthrough();
export type Descriptor = z.infer<typeof descriptorSchema>;

export const indexSchema = z
  .object({
    schemaVersion: z.literal(2),
    mediaType: z.string().optional(),
    manifests: z.array(descriptorSchema),
    annotations: z.record(z.string(), z.string()).optional(),
  })
  .passthrough();
export type ImageIndex = z.infer<typeof indexSchema>;

export const manifestSchema = z
  .object({
    schemaVersion: z.literal(2),
    mediaType: z.string().optional(),
    artifactType: z.string().optional(),
    config: descriptorSchema,
    layers: z.array(descriptorSchema),
    annotations: z.record(z.string(), z.string()).optional(),
  })
  .passthrough();
export type ImageManifest = z.infer<typeof manifestSchema>;

export { sha256Digest } from '../core/hash.ts';

export function digestHex(digest: string): string {
  const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!m) throw new Error(`unsupported digest ${digest}`);
  return m[1] as string;
}

/** Path of a blob inside an OCI image layout. */
export const blobPath = (layoutDir: string, digest: string): string => `${layoutDir}/blobs/sha256/${digestHex(digest)}`;

/** A repository:tag reference as the bundle records it (no registry host). */
export interface ImageRef {
  repository: string;
  tag: string;
}

const REPO = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;

export function parseImageRef(s: string): ImageRef {
  const colon = s.lastIndexOf(':');
  if (colon <= 0 || s.slice(colon).includes('/')) throw new Error(`"${s}" is not <repository>:<tag>`);
  const repository = s.slice(0, colon);
  const tag = s.slice(colon + 1);
  if (!REPO.test(repository)) throw new Error(`"${repository}" is not a valid repository name (lowercase, "/"-separated)`);
  if (!TAG.test(tag)) throw new Error(`"${tag}" is not a valid tag`);
  return { repository, tag };
}

export const formatImageRef = (r: ImageRef): string => `${r.repository}:${r.tag}`;

/** Children a manifest or index points at: for an index the manifests, for a manifest config + layers. */
export function manifestChildren(mediaType: string, body: unknown): { manifests: Descriptor[]; blobs: Descriptor[] } {
  if (isIndexType(mediaType)) return { manifests: indexSchema.parse(body).manifests, blobs: [] };
  const m = manifestSchema.parse(body);
  return { manifests: [], blobs: [m.config, ...m.layers] };
}

/** The media type of a manifest document, from its own field or its shape. */
export function detectMediaType(body: unknown, fallback?: string): string {
  const b = body as { mediaType?: unknown; manifests?: unknown; config?: unknown };
  if (typeof b?.mediaType === 'string') return b.mediaType;
  if (fallback) return fallback;
  return Array.isArray(b?.manifests) ? MT.ociIndex : MT.ociManifest;
}
