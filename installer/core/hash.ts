/**
 * SHA-256, the one helper every module uses. Small in-memory values are hashed on the
 * spot (`sha256Hex`); files and streams are hashed off the main thread by a pool of
 * worker threads, one per core, so bundle verification, uploads and the registry seed
 * hash at the machine's speed while the main thread keeps reading and sending.
 * A file, or a byte range of one (a tar bundle's entry), is read by the worker itself; a
 * stream (an upload, a registry blob) is copied to one worker chunk by chunk, with a bounded
 * number of bytes in flight.
 */
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';

export interface Digest {
  /** hex */
  sha256: string;
  size: number;
}

/** SHA-256 (hex) of bytes or text held in memory. */
export const sha256Hex = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** SHA-256 (base64, padded) of bytes or text held in memory: the form OpenSSH fingerprints use. */
export const sha256Base64 = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('base64');

/** SHA-256 as raw bytes. */
export const sha256Bytes = (data: string | Uint8Array): Buffer => createHash('sha256').update(data).digest();

/** `sha256:<hex>` (the OCI digest form) of bytes or text held in memory. */
export const sha256Digest = (data: string | Uint8Array): string => `sha256:${sha256Hex(data)}`;

// Plain JavaScript evaluated as the worker (the single executable has no file to load a
// worker from). It reads files itself with a reused buffer, or hashes chunks it is sent.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const buf = Buffer.allocUnsafe(256 << 10);
const open = new Map();
parentPort.on('message', (m) => {
  try {
    if (m.t === 'file') {
      const h = createHash('sha256');
      const fd = fs.openSync(m.path, 'r');
      let pos = m.start || 0, size = 0;
      const end = m.end === undefined ? Infinity : m.end + 1;
      try {
        for (;;) {
          const n = fs.readSync(fd, buf, 0, Math.min(buf.length, end - pos), pos);
          if (n <= 0) break;
          h.update(buf.subarray(0, n));
          pos += n; size += n;
        }
      } finally { fs.closeSync(fd); }
      parentPort.postMessage({ t: 'done', id: m.id, sha256: h.digest('hex'), size });
    } else if (m.t === 'open') {
      open.set(m.id, { h: createHash('sha256'), size: 0 });
    } else if (m.t === 'data') {
      const s = open.get(m.id);
      s.h.update(new Uint8Array(m.buf, 0, m.len)); s.size += m.len;
      parentPort.postMessage({ t: 'ack', id: m.id, n: m.len, buf: m.buf }, [m.buf]);
    } else if (m.t === 'end') {
      const s = open.get(m.id);
      open.delete(m.id);
      parentPort.postMessage({ t: 'done', id: m.id, sha256: s.h.digest('hex'), size: s.size });
    }
  } catch (e) {
    open.delete(m.id);
    parentPort.postMessage({ t: 'fail', id: m.id, message: e.message, code: e.code });
  }
});
`;

type Pending = { resolve: (d: Digest) => void; reject: (e: Error) => void; onAck?: (n: number) => void };

// Chunk buffers go to a worker and come back with its acknowledgement: a stream of any
// length reuses a few buffers instead of allocating (and page-faulting) a new one per chunk.
const CHUNK = 1 << 20;
const freeBuffers: ArrayBuffer[] = [];
const takeBuffer = (): ArrayBuffer => freeBuffers.pop() ?? new ArrayBuffer(CHUNK);

class HashWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  /** bytes given to this worker and not hashed yet: where the next job goes */
  load = 0;
  constructor() {
    // no inherited flags: the worker is plain CommonJS whatever loader or input type the program runs with
    this.worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
    this.worker.on(
      'message',
      (m: { t: string; id: number; sha256?: string; size?: number; n?: number; buf?: ArrayBuffer; message?: string; code?: string }) => {
        if (m.buf && freeBuffers.length < 64) freeBuffers.push(m.buf);
        const p = this.pending.get(m.id);
        if (!p) return;
        if (m.t === 'ack') {
          this.load -= m.n ?? 0;
          p.onAck?.(m.n ?? 0);
          return;
        }
        this.pending.delete(m.id);
        if (this.pending.size === 0) this.worker.unref();
        if (m.t === 'done') p.resolve({ sha256: m.sha256 ?? '', size: m.size ?? 0 });
        else p.reject(Object.assign(new Error(m.message ?? 'hashing failed'), m.code ? { code: m.code } : {}));
      },
    );
    this.worker.on('error', (e) => {
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    });
    // after the listeners: adding a 'message' listener refs the worker again
    this.worker.unref();
  }
  /** a job keeps the process alive until it settles; an idle pool never does */
  track(id: number, p: Pending): void {
    if (this.pending.size === 0) this.worker.ref();
    this.pending.set(id, p);
  }
  post(msg: unknown, transfer?: ArrayBuffer[]): void {
    this.worker.postMessage(msg, transfer);
  }
}

let nextId = 1;
let pool: HashWorker[] | undefined;
const workers = (): HashWorker[] => (pool ??= Array.from({ length: Math.max(1, Math.min(availableParallelism(), 16)) }, () => new HashWorker()));
const leastLoaded = (): HashWorker => workers().reduce((a, b) => (b.load < a.load ? b : a));

/**
 * Start the workers now, so their threads boot (tens of ms each) while the caller does its
 * first reads and checks; the first hash then finds them ready. Idle workers never keep the
 * process alive.
 */
export function warmHashWorkers(): void {
  workers();
}

/** How many files or streams are hashed at once by default: one per worker (core). */
export const hashParallelism = (): number => Math.max(1, Math.min(availableParallelism(), 16));

/** SHA-256 of a file (or a byte range of it, `end` inclusive), read and hashed by a worker. */
export function hashFile(path: string, range: { start?: number; end?: number } = {}): Promise<Digest> {
  const w = leastLoaded();
  const id = nextId++;
  const guess = range.end !== undefined ? range.end - (range.start ?? 0) + 1 : 1 << 20;
  w.load += guess;
  return new Promise<Digest>((resolve, reject) => {
    const settle =
      <T>(f: (v: T) => void) =>
      (v: T) => {
        w.load -= guess;
        f(v);
      };
    w.track(id, { resolve: settle(resolve), reject: settle(reject) });
    w.post({ t: 'file', id, path, ...range });
  });
}

/**
 * Hash many files (or byte ranges of them), largest first, at most `concurrency` at once (default one per core), so
 * the workers finish together.
 */
export async function hashFiles(
  files: readonly { key: string; path: string; size: number; range?: { start: number; end: number } }[],
  opts: { concurrency?: number; onFile?: (key: string, size: number) => void } = {},
): Promise<Map<string, Digest>> {
  const order = [...files].sort((a, b) => b.size - a.size);
  const out = new Map<string, Digest>();
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? hashParallelism(), order.length)) }, async () => {
    while (next < order.length) {
      const f = order[next++] as (typeof order)[number];
      const d = await hashFile(f.path, f.range);
      out.set(f.key, d);
      opts.onFile?.(f.key, d.size);
    }
  });
  await Promise.all(lanes);
  return out;
}

/** At most this many bytes of one stream are waiting for its worker: memory stays flat. */
const STREAM_WINDOW = 32 << 20;

/** Bytes fed in order (a tar entry, an upload) and hashed by one worker. */
export interface HashSink {
  /** copies the chunk to the worker; false when the caller should wait for `drained()` */
  update(chunk: Uint8Array): boolean;
  drained(): Promise<void>;
  digest(): Promise<Digest>;
}

export function hashSink(): HashSink {
  const w = leastLoaded();
  const id = nextId++;
  let inFlight = 0;
  let waiters: Array<() => void> = [];
  let result: Promise<Digest> | undefined;
  let settle: Pending | undefined;
  const done = new Promise<Digest>((resolve, reject) => {
    settle = { resolve, reject };
  });
  // a failure before digest() is asked for is reported by digest()
  done.catch(() => undefined);
  w.track(id, {
    resolve: (d) => settle?.resolve(d),
    reject: (e) => {
      settle?.reject(e);
      for (const f of waiters) f();
      waiters = [];
    },
    onAck: (n) => {
      inFlight -= n;
      if (inFlight <= STREAM_WINDOW / 2 && waiters.length > 0) {
        const ws = waiters;
        waiters = [];
        for (const f of ws) f();
      }
    },
  });
  w.post({ t: 'open', id });
  return {
    update(chunk) {
      if (result) throw new Error('hashSink: update after digest');
      for (let at = 0; at < chunk.length; at += CHUNK) {
        const part = chunk.subarray(at, at + CHUNK);
        const buf = takeBuffer();
        new Uint8Array(buf).set(part);
        inFlight += part.length;
        w.load += part.length;
        w.post({ t: 'data', id, buf, len: part.length }, [buf]);
      }
      return inFlight < STREAM_WINDOW;
    },
    drained() {
      if (inFlight < STREAM_WINDOW) return Promise.resolve();
      return new Promise<void>((resolve) => waiters.push(resolve));
    },
    digest() {
      if (!result) {
        w.post({ t: 'end', id });
        result = done;
      }
      return result;
    },
  };
}

/** SHA-256 of a stream, hashed by a worker while it is read; memory stays within the stream window. */
export async function hashStream(stream: Readable): Promise<Digest> {
  const sink = hashSink();
  for await (const chunk of stream) {
    if (!sink.update(chunk as Buffer)) await sink.drained();
  }
  return sink.digest();
}
