import { createReadStream } from 'node:fs';
import type { SFTPWrapper } from 'ssh2';
import { hashSink } from '../core/hash.ts';

/** SFTP write size: OpenSSH's sftp-server takes packets of up to 256 KiB */
export const WRITE_CHUNK = 255 * 1024;
const WRITES_IN_FLIGHT = 16;

/** Said when the session ends under an upload (a cut link, a keepalive timeout, a host gone). */
export const CONNECTION_LOST = 'the connection to the host was lost during the upload';

/**
 * Rejects once the SFTP session ends. ssh2 answers the requests pending at that moment with an
 * error, but keeps any request made afterwards (the next write, the close of the handle)
 * waiting forever: every request here is raced against this.
 */
function sessionEnd(sftp: SFTPWrapper): { lost: Promise<never>; dispose: () => void } {
  let fail!: (e: Error) => void;
  const lost = new Promise<never>((_, reject) => (fail = reject));
  lost.catch(() => undefined);
  const onEnd = () => fail(Object.assign(new Error(CONNECTION_LOST), { code: 'ECONNRESET' }));
  sftp.once('end', onEnd);
  sftp.once('close', onEnd);
  return {
    lost,
    dispose: () => {
      sftp.removeListener('end', onEnd);
      sftp.removeListener('close', onEnd);
    },
  };
}

/**
 * SFTP write of a file or bytes to `remote` (created 0600), streamed: the file is read
 * once, in packet-sized chunks hashed on the way (by a worker), with several writes in flight.
 * Resolves with the SHA-256 of what was sent; rejects with CONNECTION_LOST when the session
 * ends before the file is written.
 */
export async function put(
  sftp: SFTPWrapper,
  source: string | Buffer,
  remote: string,
  progress?: { total: number; onProgress: (sent: number, total: number) => void },
): Promise<string> {
  const hash = hashSink();
  const end = sessionEnd(sftp);
  let handle: Buffer;
  try {
    handle = await Promise.race([
      new Promise<Buffer>((resolve, reject) => sftp.open(remote, 'w', { mode: 0o600 }, (err, h) => (err ? reject(err) : resolve(h)))),
      end.lost,
    ]);
  } catch (e) {
    end.dispose();
    throw e;
  }
  let failed: Error | undefined;
  try {
    const inFlight = new Set<Promise<void>>();
    let position = 0;
    let acked = 0;
    const write = (chunk: Buffer) => {
      const at = position;
      position += chunk.length;
      const p: Promise<void> = Promise.race([
        new Promise<void>((resolve, reject) => sftp.write(handle, chunk, 0, chunk.length, at, (err) => (err ? reject(err) : resolve()))),
        end.lost,
      ]).then(
        () => {
          inFlight.delete(p);
          acked += chunk.length;
          progress?.onProgress(acked, progress.total);
        },
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
        : ((function* () {
            for (let o = 0; o < source.length; o += WRITE_CHUNK) yield source.subarray(o, o + WRITE_CHUNK);
          })() as unknown as AsyncIterable<Buffer>);
    for await (const chunk of chunks) {
      if (failed) break;
      if (!hash.update(chunk)) await hash.drained();
      write(chunk);
      while (inFlight.size >= WRITES_IN_FLIGHT) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    if (failed) throw failed;
  } finally {
    await Promise.race([new Promise<void>((resolve) => sftp.close(handle, () => resolve())), end.lost.catch(() => undefined)]);
    end.dispose();
  }
  return (await hash.digest()).sha256;
}
