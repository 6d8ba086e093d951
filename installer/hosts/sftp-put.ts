import { createReadStream } from 'node:fs';
import type { SFTPWrapper } from 'ssh2';
import { hashSink } from '../core/hash.ts';

/** SFTP write size: OpenSSH's sftp-server takes packets of up to 256 KiB */
export const WRITE_CHUNK = 255 * 1024;
const WRITES_IN_FLIGHT = 16;

/**
 * SFTP write of a file or bytes to `remote` (created 0600), streamed: the file is read
 * once, in packet-sized chunks hashed on the way (by a worker), with several writes in flight.
 * Resolves with the SHA-256 of what was sent.
 */
export async function put(sftp: SFTPWrapper, source: string | Buffer, remote: string): Promise<string> {
  const hash = hashSink();
  const handle = await new Promise<Buffer>((resolve, reject) => sftp.open(remote, 'w', { mode: 0o600 }, (err, h) => (err ? reject(err) : resolve(h))));
  let failed: Error | undefined;
  try {
    const inFlight = new Set<Promise<void>>();
    let position = 0;
    const write = (chunk: Buffer) => {
      const at = position;
      position += chunk.length;
      const p: Promise<void> = new Promise<void>((resolve, reject) => sftp.write(handle, chunk, 0, chunk.length, at, (err) => (err ? reject(err) : resolve()))).then(
        () => void inFlight.delete(p),
        (e: Error) => {
          failed ??= e;
          inFlight.delete(p);
        },
      );
      inFlight.add(p);
    };
    const chunks: AsyncIterable<Buffer> =
      typeof source === 'string'
        ? createReadStream(source, { highWaterMark: WRITE_CHUNK })
        : (function* () {
            for (let o = 0; o < source.length; o += WRITE_CHUNK) yield source.subarray(o, o + WRITE_CHUNK);
          })() as unknown as AsyncIterable<Buffer>;
    for await (const chunk of chunks) {
      if (failed) break;
      if (!hash.update(chunk)) await hash.drained();
      write(chunk);
      while (inFlight.size >= WRITES_IN_FLIGHT) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    if (failed) throw failed;
  } finally {
    await new Promise<void>((resolve) => sftp.close(handle, () => resolve()));
  }
  return (await hash.digest()).sha256;
}
