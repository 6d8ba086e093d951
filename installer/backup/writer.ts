/**
 * Writes one backup file: a tar stream, encrypted as it is produced, into a
 * temp file that becomes the backup only when every member is in and the
 * manifest is last (mode 0600, fsync, rename). Members stream through, each
 * hashed on the way, so memory does not grow with the archive.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { PassThrough, Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { createAtomicFile, type AtomicFile } from '../core/atomic.ts';
import { PalisadeError } from '../core/errors.ts';
import { encryptStream, type SealKey } from './age.ts';
import { MEMBERS, type BackupHeader, type BackupManifest, type MemberRecord } from './format.ts';

class Hasher extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }
}

export interface WrittenBackup {
  path: string;
  bytes: number;
  sha256: string;
  manifest: BackupManifest;
}

export class BackupWriter {
  readonly members: MemberRecord[] = [];
  private readonly pack = tar.pack();
  private readonly out = new Hasher();
  private readonly written: Promise<void>;
  private failed: unknown;
  private readonly mtime = new Date();

  private constructor(
    readonly path: string,
    private readonly file: AtomicFile,
    encrypted: Readable,
  ) {
    this.written = pipeline(encrypted, this.out, file.stream).catch((e: unknown) => {
      this.failed ??= e;
      throw e;
    });
    this.written.catch(() => undefined);
  }

  static async create(path: string, key: SealKey): Promise<BackupWriter> {
    const file = await createAtomicFile(path, { mode: 0o600, mkdirp: true });
    try {
      const plain = new PassThrough();
      const w = new BackupWriter(path, file, await encryptStream(plain, key));
      w.pack.pipe(plain);
      return w;
    } catch (e) {
      await file.abort();
      throw e;
    }
  }

  /** Add a member from a stream of exactly `size` bytes; resolves when it is in the archive. */
  async addStream(name: string, size: number, source: Readable): Promise<MemberRecord> {
    if (this.failed) throw this.failed;
    if (this.members.some((m) => m.path === name)) throw new Error(`backup member ${name} added twice`);
    const h = new Hasher();
    let entryDone!: () => void;
    let entryFailed!: (e: Error) => void;
    const done = new Promise<void>((res, rej) => {
      entryDone = res;
      entryFailed = rej;
    });
    const entry = this.pack.entry({ name, size, mode: 0o600, mtime: this.mtime, type: 'file' }, (err) => (err ? entryFailed(err) : entryDone()));
    try {
      await Promise.all([pipeline(source, h, entry), done]);
    } catch (e) {
      throw new PalisadeError('backup.member', `backup member ${name}: ${h.bytes !== size ? `got ${h.bytes} of ${size} bytes` : (e as Error).message}`, {
        cause: e,
      });
    }
    const rec = { path: name, size, sha256: h.hash.digest('hex') };
    this.members.push(rec);
    return rec;
  }

  addBuffer(name: string, data: string | Buffer): Promise<MemberRecord> {
    const b = typeof data === 'string' ? Buffer.from(data) : data;
    const s = new PassThrough();
    s.end(b);
    return this.addStream(name, b.length, s);
  }

  async addFile(name: string, localPath: string): Promise<MemberRecord> {
    const st = await stat(localPath);
    return this.addStream(name, st.size, createReadStream(localPath));
  }

  /** The manifest last, then the file is flushed and renamed into place. */
  async finish(header: BackupHeader): Promise<WrittenBackup> {
    const manifest: BackupManifest = { ...header, members: [...this.members] };
    const sealed = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
    const s = new PassThrough();
    s.end(sealed);
    await this.addStreamRaw(MEMBERS.manifest, sealed.length, s);
    this.pack.finalize();
    await this.written;
    await this.file.commit();
    return { path: this.path, bytes: this.out.bytes, sha256: this.out.hash.digest('hex'), manifest };
  }

  private async addStreamRaw(name: string, size: number, source: Readable): Promise<void> {
    await this.addStream(name, size, source);
    this.members.pop();
  }

  async abort(): Promise<void> {
    this.pack.destroy();
    await this.file.abort();
  }
}
