import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic.ts';
import { MT, REF_NAME, digestHex, indexSchema, sha256Digest, type Descriptor } from './oci.ts';

/** Add content to an OCI image layout on disk (creating it when needed); a ref name already there is replaced. */
export class LayoutWriter {
  private index: Descriptor[] = [];
  private constructor(readonly dir: string) {}

  static async open(dir: string): Promise<LayoutWriter> {
    const w = new LayoutWriter(dir);
    await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
    try {
      w.index = indexSchema.parse(JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'))).manifests;
    } catch {
      w.index = [];
    }
    return w;
  }

  async writeBlob(data: Buffer, digest = sha256Digest(data)): Promise<string> {
    await writeFile(join(this.dir, 'blobs', 'sha256', digestHex(digest)), data);
    return digest;
  }

  tag(desc: Descriptor, refName: string): void {
    this.index = this.index.filter((d) => d.annotations?.[REF_NAME] !== refName);
    this.index.push({ ...desc, annotations: { ...(desc.annotations ?? {}), [REF_NAME]: refName } });
  }

  async close(): Promise<void> {
    await writeFileAtomic(join(this.dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    await writeFileAtomic(join(this.dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: MT.ociIndex, manifests: this.index }, null, 2) + '\n');
  }
}
