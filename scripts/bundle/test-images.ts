import { createCipheriv, createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { MT, REF_NAME, sha256Digest, type Descriptor } from '../../installer/bundle/oci.ts';

/**
 * Random-content OCI images in one image layout, for test bundles and the
 * benchmarks. Content comes from an AES-CTR keystream seeded by name, so it is
 * incompressible, fast to make, and the same for the same options.
 */
export interface TestImagesOptions {
  dir: string;
  /** single-platform images (default 3) */
  images?: number;
  /** layers per image, the first shared by all images (default 3) */
  layers?: number;
  /** bytes of each layer's file (default 256 KiB) */
  layerSize?: number;
  /** also write a two-platform image index (default true) */
  multiArch?: boolean;
  seed?: string;
}

export interface TestImage {
  ref: string;
  digest: string;
  mediaType: string;
}

const CHUNK = 1 << 20;

function tarHeader(name: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(size.toString(8).padStart(11, '0') + '\0', 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write('0', 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return h;
}

/** Write a layer (a tar holding one random file) as a blob; returns its descriptor. */
async function writeLayer(dir: string, id: string, size: number, seed: string): Promise<Descriptor> {
  const tmp = join(dir, 'blobs', 'sha256', `.tmp-${id}`);
  const out = createWriteStream(tmp);
  const hash = createHash('sha256');
  const write = async (b: Buffer): Promise<void> => {
    hash.update(b);
    if (!out.write(b)) await once(out, 'drain');
  };
  const key = createHash('sha256').update(`${seed}/${id}`).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(CHUNK);
  await write(tarHeader(`data/${id}.bin`, size));
  for (let left = size; left > 0; left -= CHUNK) await write(cipher.update(left >= CHUNK ? zeros : zeros.subarray(0, left)));
  await write(Buffer.alloc(((512 - (size % 512)) % 512) + 1024));
  out.end();
  await once(out, 'finish');
  const hex = hash.digest('hex');
  await rename(tmp, join(dir, 'blobs', 'sha256', hex));
  return { mediaType: MT.ociLayer, digest: `sha256:${hex}`, size: (await stat(join(dir, 'blobs', 'sha256', hex))).size };
}

async function writeJsonBlob(dir: string, value: unknown): Promise<{ digest: string; size: number }> {
  const bytes = Buffer.from(JSON.stringify(value));
  const digest = sha256Digest(bytes);
  await writeFile(join(dir, 'blobs', 'sha256', digest.slice(7)), bytes);
  return { digest, size: bytes.length };
}

async function writeImage(dir: string, layers: Descriptor[], arch: string): Promise<Descriptor> {
  const config = {
    architecture: arch,
    os: 'linux',
    config: { Cmd: ['/bin/true'] },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
    history: layers.map(() => ({ created_by: 'palisade test image' })),
  };
  const c = await writeJsonBlob(dir, config);
  const manifest = { schemaVersion: 2, mediaType: MT.ociManifest, config: { mediaType: MT.ociConfig, ...c }, layers };
  const m = await writeJsonBlob(dir, manifest);
  return { mediaType: MT.ociManifest, ...m, platform: { architecture: arch, os: 'linux' } };
}

export async function generateTestImages(o: TestImagesOptions): Promise<TestImage[]> {
  const images = o.images ?? 3;
  const layers = o.layers ?? 3;
  const size = o.layerSize ?? 256 << 10;
  const seed = o.seed ?? 'palisade-test';
  await mkdir(join(o.dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(o.dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const base = await writeLayer(o.dir, 'base', size, seed);
  const index: Descriptor[] = [];
  const out: TestImage[] = [];
  for (let i = 0; i < images; i++) {
    const ls = [base];
    for (let l = 1; l < layers; l++) ls.push(await writeLayer(o.dir, `app${i}-layer${l}`, size, seed));
    const m = await writeImage(o.dir, ls, 'amd64');
    const ref = `palisade/test-app-${i}:1.0.${i}`;
    const { platform: _p, ...desc } = m;
    index.push({ ...desc, annotations: { [REF_NAME]: ref } });
    out.push({ ref, digest: m.digest, mediaType: MT.ociManifest });
  }
  if (o.multiArch ?? true) {
    const small = Math.max(1024, Math.floor(size / 4));
    const amd = await writeImage(o.dir, [base, await writeLayer(o.dir, 'multi-amd64', small, seed)], 'amd64');
    const arm = await writeImage(
      o.dir,
      [await writeLayer(o.dir, 'multi-arm64-base', small, seed), await writeLayer(o.dir, 'multi-arm64', small, seed)],
      'arm64',
    );
    const idx = await writeJsonBlob(o.dir, { schemaVersion: 2, mediaType: MT.ociIndex, manifests: [amd, arm] });
    const ref = 'palisade/test-multiarch:2.0.0';
    index.push({ mediaType: MT.ociIndex, ...idx, annotations: { [REF_NAME]: ref } });
    out.push({ ref, digest: idx.digest, mediaType: MT.ociIndex });
  }
  await writeFile(join(o.dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: MT.ociIndex, manifests: index }, null, 2));
  return out;
}
