import { randomUUID } from 'node:crypto';
import type { BundleManifest } from '../bundle/manifest.ts';
import type { InstalledPackage } from '../hardening/types.ts';

/**
 * CycloneDX 1.5 JSON documents: one per host (its installed Debian packages,
 * with package URLs) and one for the registry's contents (the images and packs
 * the bundle seeded). Pure: the caller passes the timestamp and tool version.
 */
interface Meta {
  timestamp: string;
  tool: { name: string; version: string };
}

function doc(meta: Meta, subject: Record<string, unknown>, components: unknown[]): Record<string, unknown> {
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    serialNumber: `urn:uuid:${randomUUID()}`,
    version: 1,
    metadata: {
      timestamp: meta.timestamp,
      tools: { components: [{ type: 'application', name: meta.tool.name, version: meta.tool.version }] },
      component: subject,
    },
    components,
  };
}

export function hostSbom(
  host: string,
  os: { id: string; version: string; arch: string },
  packages: Record<string, InstalledPackage>,
  meta: Meta,
): Record<string, unknown> {
  const comps = Object.values(packages)
    .filter((p) => p.status.startsWith('i') || p.status.startsWith('h'))
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((p) => {
      const purl = `pkg:deb/${os.id}/${encodeURIComponent(p.name)}@${encodeURIComponent(p.version)}?arch=${os.arch}&distro=${os.id}-${os.version}`;
      return { type: 'library', 'bom-ref': purl, name: p.name, version: p.version, purl };
    });
  return doc(meta, { type: 'operating-system', 'bom-ref': `host:${host}`, name: host, version: `${os.id} ${os.version}` }, comps);
}

export function registrySbom(registry: string, manifest: BundleManifest, meta: Meta): Record<string, unknown> {
  const images = manifest.components.images.map((i) => {
    const purl = `pkg:oci/${encodeURIComponent(i.repository.split('/').pop()!)}@${encodeURIComponent(i.digest)}?repository_url=${encodeURIComponent(`${registry}/${i.repository}`)}&tag=${encodeURIComponent(i.tag)}`;
    return {
      type: 'container',
      'bom-ref': purl,
      name: i.repository,
      version: i.tag,
      purl,
      hashes: [{ alg: 'SHA-256', content: i.digest.replace(/^sha256:/, '') }],
    };
  });
  const packs = manifest.components.packs.map((p) => ({
    type: 'data',
    'bom-ref': `pack:${p.name}@${p.version}`,
    name: `packs/${p.name}`,
    version: p.version,
    description: `${p.layer} pack`,
    hashes: [{ alg: 'SHA-256', content: p.digest.replace(/^sha256:/, '') }],
  }));
  return doc(meta, { type: 'application', 'bom-ref': `registry:${registry}`, name: registry, version: manifest.version }, [...images, ...packs]);
}
