import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { packRepository, packTag, type LoadedPack } from './pack.ts';
import { MT, sha256Digest, type Descriptor } from '../oci.ts';

/** Media types of a pack as an OCI artifact. */
export const PACK_MT = {
  artifact: 'application/vnd.palisade.pack.v1',
  config: 'application/vnd.palisade.pack.config.v1+json',
  content: 'application/vnd.palisade.pack.content.v1.tar+gzip',
} as const;

export interface PackArtifact {
  repository: string;
  tag: string;
  manifest: Descriptor;
  manifestBytes: Buffer;
  /** config and content blobs by digest */
  blobs: Map<string, Buffer>;
}

/** Same files in, same bytes out: fixed mtime, owner and order, so a rebuilt pack has the same digest. */
export async function packTarball(files: LoadedPack['files']): Promise<Buffer> {
  const p = tar.pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((resolve, reject) => {
    p.on('end', resolve);
    p.on('error', reject);
  });
  for (const f of files) {
    await new Promise<void>((resolve, reject) => {
      p.entry({ name: f.path, size: f.data.length, mode: f.mode, mtime: new Date(0), uid: 0, gid: 0, uname: '', gname: '', type: 'file' }, f.data, (err) =>
        err ? reject(err) : resolve(),
      );
    });
  }
  p.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks), { level: 9 });
}

export async function buildPackArtifact(pack: LoadedPack): Promise<PackArtifact> {
  const config = Buffer.from(JSON.stringify(pack.meta));
  const content = await packTarball(pack.files);
  const configDesc: Descriptor = { mediaType: PACK_MT.config, digest: sha256Digest(config), size: config.length };
  const contentDesc: Descriptor = {
    mediaType: PACK_MT.content,
    digest: sha256Digest(content),
    size: content.length,
    annotations: { 'org.opencontainers.image.title': `${pack.meta.name}-${pack.meta.version}.tar.gz` },
  };
  const manifest = {
    schemaVersion: 2,
    mediaType: MT.ociManifest,
    artifactType: PACK_MT.artifact,
    config: configDesc,
    layers: [contentDesc],
    annotations: {
      'org.opencontainers.image.title': pack.meta.displayName,
      'org.opencontainers.image.version': pack.meta.version,
      'io.palisade.pack.name': pack.meta.name,
      'io.palisade.pack.layer': pack.meta.layer,
    },
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  return {
    repository: packRepository(pack.meta.name),
    tag: packTag(pack.meta.version),
    manifest: { mediaType: MT.ociManifest, artifactType: PACK_MT.artifact, digest: sha256Digest(manifestBytes), size: manifestBytes.length },
    manifestBytes,
    blobs: new Map([
      [configDesc.digest, config],
      [contentDesc.digest, content],
    ]),
  };
}
