import { parse, stringify } from 'yaml';
import { z } from 'zod';
import { digestSchema } from './oci.ts';
import { PalisadeError } from '../core/errors.ts';

/**
 * bundle.yaml: what the bundle holds, and the digest of checksums.txt. It is the
 * one file the signature covers; everything else is reached through it.
 */
export const BUNDLE_API_VERSION = 'palisade/bundle/v1';
export const IMAGES_LAYOUT = 'images';
export const PACKS_LAYOUT = 'packs';

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 hex characters');
const relPath = z.string().min(1);

export const binaryComponentSchema = z
  .object({
    name: z.string().min(1),
    path: relPath,
    version: z.string().optional(),
    sha256: hex64,
    size: z.number().int().nonnegative(),
  })
  .strict();

export const fileComponentSchema = binaryComponentSchema;

export const imageComponentSchema = z
  .object({
    repository: z.string().min(1),
    tag: z.string().min(1),
    digest: digestSchema,
    mediaType: z.string().min(1),
    /** OCI layout directory inside the bundle */
    layout: relPath,
  })
  .strict();

export const packComponentSchema = imageComponentSchema
  .extend({
    name: z.string().min(1),
    version: z.string().min(1),
    layer: z.string().min(1),
  })
  .strict();

export const bundleManifestSchema = z
  .object({
    apiVersion: z.literal(BUNDLE_API_VERSION),
    name: z.string().min(1),
    version: z.string().min(1),
    created: z.string().min(1),
    checksums: z.object({ path: z.literal('checksums.txt'), sha256: hex64 }).strict(),
    sbom: relPath.optional(),
    components: z
      .object({
        binaries: z.array(binaryComponentSchema).default([]),
        files: z.array(fileComponentSchema).default([]),
        images: z.array(imageComponentSchema).default([]),
        packs: z.array(packComponentSchema).default([]),
      })
      .strict(),
  })
  .strict();

export type BundleManifest = z.infer<typeof bundleManifestSchema>;
export type BinaryComponent = z.infer<typeof binaryComponentSchema>;
export type ImageComponent = z.infer<typeof imageComponentSchema>;
export type PackComponent = z.infer<typeof packComponentSchema>;

export function renderManifest(m: BundleManifest): string {
  return stringify(m, { lineWidth: 0 });
}

export function parseManifest(text: string): BundleManifest {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (e) {
    throw new PalisadeError('bundle.manifest-invalid', `bundle.yaml is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  const r = bundleManifestSchema.safeParse(raw);
  if (!r.success) {
    throw new PalisadeError('bundle.manifest-invalid', 'bundle.yaml does not match the bundle format', {
      hint: 'bundle.yaml is written by `palisade bundle build`; this one is damaged or from an incompatible palisade version',
      details: r.error.issues.map((i) => ({ path: i.path.join('.') || '(top level)', message: i.message })),
    });
  }
  return r.data;
}
