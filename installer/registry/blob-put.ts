/**
 * Blob bodies sent to an upload session the client opened: in one PUT, or in
 * PATCH chunks that resume where the registry says it stands after a dropped
 * connection. Either way the bytes are hashed as they go.
 */
import { createHash, type Hash } from 'node:crypto';
import { drain, type HttpResponse } from '../core/https.ts';
import { log } from '../core/log.ts';
import { scopeFor } from './auth.ts';
import type { BlobInfo, BlobSource, RegistryRequest } from './client-types.ts';
import { DigestMismatchError, isTransient } from './errors.ts';
import { Verifier } from './verifier.ts';

/** what the uploads need of the client: its address and its authenticated send */
export interface RegistrySender {
  readonly base: URL;
  send(req: RegistryRequest): Promise<HttpResponse>;
}

function withDigest(loc: URL, digest: string): URL {
  const u = new URL(loc);
  u.searchParams.set('digest', digest);
  return u;
}

export async function putMonolithic(
  client: RegistrySender,
  repo: string,
  loc: URL,
  blob: BlobInfo,
  open: BlobSource,
  count: (n: number) => void,
): Promise<void> {
  let attemptBytes = 0;
  const res = await client.send({
    method: 'PUT',
    url: withDigest(loc, blob.digest),
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': blob.size },
    body: () => {
      // sent again after an auth challenge: start the count over
      if (attemptBytes > 0) count(-attemptBytes);
      attemptBytes = 0;
      const src = open();
      const v = new Verifier(blob.digest, blob.size, (n) => {
        attemptBytes += n;
        count(n);
      });
      src.on('error', (e) => v.destroy(e));
      return src.pipe(v);
    },
    scopes: scopeFor(repo, true),
    ok: [201],
  });
  drain(res);
}

export async function putChunked(
  client: RegistrySender,
  repo: string,
  first: URL,
  blob: BlobInfo,
  open: BlobSource,
  chunkSize: number,
  count: (n: number) => void,
): Promise<void> {
  let loc = first;
  let offset = 0;
  let hash: Hash = createHash('sha256');
  const hashRange = async (from: number, to: number): Promise<void> => {
    for await (const c of open({ start: from, end: to - 1 })) hash.update(c as Buffer);
  };
  while (offset < blob.size) {
    const end = Math.min(offset + chunkSize, blob.size) - 1;
    let chunkHash: Hash = hash.copy();
    let chunkBytes = 0;
    try {
      const res = await client.send({
        method: 'PATCH',
        url: loc,
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': end - offset + 1, 'Content-Range': `${offset}-${end}` },
        // a fresh hash and count each time the body is sent (it is sent again after an auth challenge)
        body: () => {
          chunkHash = hash.copy();
          if (chunkBytes > 0) count(-chunkBytes);
          chunkBytes = 0;
          const s = open({ start: offset, end });
          s.on('data', (c: Buffer) => {
            chunkHash.update(c);
            chunkBytes += c.length;
            count(c.length);
          });
          return s;
        },
        scopes: scopeFor(repo, true),
        ok: [202, 204],
      });
      drain(res);
      loc = new URL(String(res.headers.location ?? loc), client.base);
      hash = chunkHash;
      offset = end + 1;
    } catch (e) {
      if (!isTransient(e)) throw e;
      // ask where the session stands; resume there, or let the caller restart the blob
      const st = await client.send({ method: 'GET', url: loc, scopes: scopeFor(repo, true), ok: [204] });
      drain(st);
      const m = /^0-(\d+)$/.exec(String(st.headers.range ?? ''));
      // distribution answers "0-0" for an empty session too; chunks are never a single byte, so read it as nothing received
      const at = m && !(offset === 0 && m[1] === '0') ? Number(m[1]) + 1 : 0;
      if (at < offset || at > end + 1) throw e;
      log.warn(`upload ${repo}@${blob.digest.slice(0, 19)}: ${(e as Error).message}; resuming at byte ${at}`);
      count(at - offset - chunkBytes);
      loc = new URL(String(st.headers.location ?? loc), client.base);
      if (at > offset) await hashRange(offset, at);
      offset = at;
    }
  }
  const actual = `sha256:${hash.digest('hex')}`;
  if (actual !== blob.digest) {
    await client.send({ method: 'DELETE', url: loc, scopes: scopeFor(repo, true), ok: [204, 404, 405] }).then(drain, () => undefined);
    throw new DigestMismatchError(blob.digest, actual);
  }
  drain(
    await client.send({
      method: 'PUT',
      url: withDigest(loc, blob.digest),
      headers: { 'Content-Length': 0 },
      body: Buffer.alloc(0),
      scopes: scopeFor(repo, true),
      ok: [201],
    }),
  );
}
