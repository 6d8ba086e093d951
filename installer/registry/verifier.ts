import { Transform, type TransformCallback } from 'node:stream';
import { hashSink } from '../core/hash.ts';
import { DigestMismatchError } from './errors.ts';

/**
 * A pass-through that counts and has a worker hash what passes; the last chunk is held
 * back until the digest is known, so a bad blob never completes its request.
 */
export class Verifier extends Transform {
  private readonly sink = hashSink();
  private held: Buffer | undefined;
  bytes = 0;
  constructor(
    private readonly digest: string,
    private readonly size: number,
    private readonly onBytes?: (n: number) => void,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    const room = this.sink.update(chunk);
    this.bytes += chunk.length;
    this.onBytes?.(chunk.length);
    if (this.held) this.push(this.held);
    this.held = chunk;
    if (room) cb();
    else void this.sink.drained().then(() => cb());
  }
  override _flush(cb: TransformCallback): void {
    this.sink.digest().then(
      (d) => {
        const actual = `sha256:${d.sha256}`;
        if (actual !== this.digest || this.bytes !== this.size) return cb(new DigestMismatchError(this.digest, actual));
        if (this.held) this.push(this.held);
        cb();
      },
      (e: Error) => cb(e),
    );
  }
}
