import http from 'node:http';
import https from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import { tlsOver, type CreateConnection, type OpenStream } from '../hosts/tunnel.ts';

/**
 * One keep-alive HTTP(S) transport per registry, with the registry's CA pinned
 * in the agent (not the process-wide trust store).
 */
export interface HttpRequest {
  method: string;
  url: URL;
  headers?: Record<string, string | number>;
  /** a Buffer, or a factory so the request can be sent again */
  body?: Buffer | (() => Readable);
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
}

/** Errors of the connection itself (never an HTTP status). */
export class TransportError extends Error {
  constructor(message: string, readonly code: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export const TLS_ERROR_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED', 'CERT_REJECTED', 'EPROTO', 'ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG',
]);

/** An https.Agent whose TLS runs over streams from `open` (e.g. an SSH tunnel), verified as usual. */
class TunnelAgent extends https.Agent {
  private readonly via: CreateConnection;
  constructor(opts: https.AgentOptions, open: OpenStream) {
    super(opts);
    this.via = tlsOver(open);
  }
  override createConnection(options: https.RequestOptions, cb?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    return this.via(options, cb ?? (() => undefined));
  }
}

export class Transport {
  private readonly agent: http.Agent;
  /** `connect`: open each connection's stream this way (https only), e.g. through a host's SSH connection */
  constructor(readonly secure: boolean, ca?: string | Buffer, readonly defaultTimeoutMs = 120_000, connect?: OpenStream) {
    if (connect && !secure) throw new Error('a tunnelled registry connection must be https');
    const opts = { keepAlive: true, maxSockets: 16, ...(ca ? { ca } : {}) };
    this.agent = connect ? new TunnelAgent(opts, connect) : secure ? new https.Agent(opts) : new http.Agent({ keepAlive: true, maxSockets: 16 });
  }

  request(req: HttpRequest): Promise<HttpResponse> {
    const mod = this.secure ? https : http;
    return new Promise<HttpResponse>((resolve, reject) => {
      const r = mod.request(req.url, { method: req.method, agent: this.agent, headers: req.headers, ...(req.signal ? { signal: req.signal } : {}) });
      const timeout = req.timeoutMs ?? this.defaultTimeoutMs;
      r.setTimeout(timeout, () => r.destroy(new TransportError(`no answer from ${req.url.host} for ${timeout / 1000} s`, 'ETIMEDOUT')));
      r.on('response', (res) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res }));
      r.on('error', (e: NodeJS.ErrnoException) => {
        // errors from our own body stream (e.g. a digest mismatch) pass through unchanged
        reject(e instanceof TransportError || !e.code ? e : new TransportError(e.message, e.code, { cause: e }));
      });
      if (req.body === undefined) r.end();
      else if (Buffer.isBuffer(req.body)) r.end(req.body);
      else {
        const src = req.body();
        src.on('error', (e) => r.destroy(e));
        src.pipe(r);
      }
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

export async function readBody(res: HttpResponse, limit = 16 << 20): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res.body) {
    n += (c as Buffer).length;
    if (n > limit) {
      res.body.destroy();
      throw new TransportError(`response larger than ${limit} bytes`, 'ETOOBIG');
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Free the socket for reuse without reading the body into memory. */
export function drain(res: HttpResponse): void {
  res.body.resume();
}
