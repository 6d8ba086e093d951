import type { BundleManifest } from './manifest.ts';
import { digestHex } from './oci.ts';
import { sha256Hex } from '../core/hash.ts';

/**
 * A CycloneDX 1.5 SBOM generated from what the bundle holds: every binary and
 * file with its SHA-256, every image and pack with its manifest digest.
 */
export const SBOM_PATH = 'sbom/bundle.cdx.json';

export interface SbomInput {
  manifest: Omit<BundleManifest, 'checksums' | 'sbom'>;
  toolVersion: string;
  /** image/pack digest -> total size of its blobs, for the properties */
  sizes?: Map<string, number>;
}

/** A stable UUID (v5-shaped) from the content, so the same bundle gives the same SBOM. */
function contentUuid(seed: string): string {
  const h = sha256Hex(seed);
  const v = (parseInt(h.slice(16, 17), 16) & 0x3) | 0x8;
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${v.toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function purlOci(repository: string, tag: string, digest: string): string {
  const name = repository.split('/').pop() as string;
  return `pkg:oci/${encodeURIComponent(name)}@${encodeURIComponent(digest)}?repository_url=${encodeURIComponent(repository)}&tag=${encodeURIComponent(tag)}`;
}

export function generateSbom(input: SbomInput): Record<string, unknown> {
  const m = input.manifest;
  const components: Record<string, unknown>[] = [];
  for (const b of m.components.binaries) {
    components.push({
      type: 'application',
      'bom-ref': `binary:${b.name}`,
      name: b.name,
      ...(b.version ? { version: b.version } : {}),
      hashes: [{ alg: 'SHA-256', content: b.sha256 }],
      properties: [
        { name: 'palisade:bundle:path', value: b.path },
        { name: 'palisade:size', value: String(b.size) },
      ],
    });
  }
  for (const f of m.components.files) {
    components.push({
      type: 'file',
      'bom-ref': `file:${f.path}`,
      name: f.name,
      hashes: [{ alg: 'SHA-256', content: f.sha256 }],
      properties: [
        { name: 'palisade:bundle:path', value: f.path },
        { name: 'palisade:size', value: String(f.size) },
      ],
    });
  }
  for (const i of m.components.images) {
    components.push({
      type: 'container',
      'bom-ref': `image:${i.repository}:${i.tag}`,
      name: i.repository,
      version: i.tag,
      hashes: [{ alg: 'SHA-256', content: digestHex(i.digest) }],
      purl: purlOci(i.repository, i.tag, i.digest),
      properties: [
        { name: 'palisade:oci:digest', value: i.digest },
        { name: 'palisade:oci:mediaType', value: i.mediaType },
        { name: 'palisade:bundle:layout', value: i.layout },
        ...(input.sizes?.has(i.digest) ? [{ name: 'palisade:size', value: String(input.sizes.get(i.digest)) }] : []),
      ],
    });
  }
  for (const p of m.components.packs) {
    components.push({
      type: 'data',
      'bom-ref': `pack:${p.name}:${p.version}`,
      name: p.name,
      version: p.version,
      description: `palisade pack (${p.layer} layer), published as ${p.repository}:${p.tag}`,
      hashes: [{ alg: 'SHA-256', content: digestHex(p.digest) }],
      purl: purlOci(p.repository, p.tag, p.digest),
      properties: [
        { name: 'palisade:pack:layer', value: p.layer },
        { name: 'palisade:oci:digest', value: p.digest },
        { name: 'palisade:bundle:layout', value: p.layout },
      ],
    });
  }
  const refs = components.map((c) => c['bom-ref'] as string);
  return {
    $schema: 'http://cyclonedx.org/schema/bom-1.5.schema.json',
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    serialNumber: `urn:uuid:${contentUuid(JSON.stringify([m.name, m.version, refs, components]))}`,
    version: 1,
    metadata: {
      timestamp: m.created,
      tools: { components: [{ type: 'application', name: 'palisade', version: input.toolVersion }] },
      component: { type: 'application', 'bom-ref': 'bundle', name: m.name, version: m.version },
    },
    components,
    dependencies: [{ ref: 'bundle', dependsOn: refs }, ...refs.map((ref) => ({ ref }))],
  };
}
