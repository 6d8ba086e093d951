import http from 'node:http';
import https from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import tls from 'node:tls';

/**
 * The one HTTPS client, for the appliance's own services (the pack registry,
 * its token server, the cluster API): a keep-alive agent with the service's CA
 * pinned in it (never the process-wide trust store), an optional client
 * certificate and TLS server name, over a direct connection or over streams
 * from `connect` (a host's SSH connection), verified the same way on both.
 * Plain HTTP only where the caller asks for it (`secure: false`).
 */

/** Opens a TCP stream for a connection to `host`:`port` (e.g. through a host's SSH connection). */
export type OpenStream = (port: number, host: string) => Promise<Duplex>;
/** The shape of Node's https `createConnection` (request option or Agent method). */
export type CreateConnection = (options: https.RequestOptions, cb: (err: Error | null, stream: Duplex) => void) => undefined;

/**
 * An https `createConnection` that runs TLS over a stream from `open` instead of
 * a TCP socket from this machine. It gets the options Node's own would (ca,
 * servername, client certificate, host for the identity check), so
 * verification is exactly as on a direct connection.
 */
export function tlsOver(open: OpenStream): CreateConnection {
  return (options, cb) => {
    const port = Number(options.port ?? 443);
    const host = String(options.hostname ?? options.host ?? 'localhost');
    open(port, host).then(
      (socket) => cb(null, tls.connect({ ...(options as tls.ConnectionOptions), socket })),
      (e: unknown) => cb(e as Error, undefined as unknown as Duplex),
    );
    return undefined;
  };
}

export interface HttpsClientOptions {
  /** false: plain HTTP (no CA, no tunnel) */
  secure: boolean;
  /** the CA that issued the service's certificate */
  ca?: string | Buffer | undefined;
  /** a client certificate and its key (PEM) */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** the name the service's certificate must carry, when the URL holds an address */
  servername?: string;
  /** per request, unless the request says otherwise (default 120 s) */
  timeoutMs?: number | undefined;
  /** open each connection's stream this way (https only), e.g. through a host's SSH connection */
  connect?: OpenStream | undefined;
}
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
  constructor(
    message: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const TLS_ERROR_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'EPROTO',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG',
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

export class HttpsClient {
  private readonly agent: http.Agent;
  readonly secure: boolean;
  readonly defaultTimeoutMs: number;
  private readonly servername: string | undefined;
  constructor(o: HttpsClientOptions) {
    this.secure = o.secure;
    this.defaultTimeoutMs = o.timeoutMs ?? 120_000;
    this.servername = o.servername;
    if (o.connect && !o.secure) throw new Error('a tunnelled connection must be https');
    const opts = { keepAlive: true, maxSockets: 16, ...(o.ca ? { ca: o.ca } : {}), ...(o.cert ? { cert: o.cert } : {}), ...(o.key ? { key: o.key } : {}) };
    this.agent = o.connect ? new TunnelAgent(opts, o.connect) : o.secure ? new https.Agent(opts) : new http.Agent({ keepAlive: true, maxSockets: 16 });
  }

  request(req: HttpRequest): Promise<HttpResponse> {
    const mod = this.secure ? https : http;
    return new Promise<HttpResponse>((resolve, reject) => {
      const r = mod.request(req.url, {
        method: req.method,
        agent: this.agent,
        headers: req.headers,
        ...(this.servername ? { servername: this.servername } : {}),
        ...(req.signal ? { signal: req.signal } : {}),
      });
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

/** GET a small text resource; its body, or an error naming the status (e.g. a health endpoint). */
export async function getText(client: HttpsClient, url: URL, o: { timeoutMs?: number; limit?: number } = {}): Promise<string> {
  const res = await client.request({ method: 'GET', url, ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}) });
  const body = (await readBody(res, o.limit ?? 1 << 20)).toString('utf8').trim();
  if (res.status !== 200) throw new TransportError(`HTTP ${res.status}: ${body.slice(0, 200)}`, `HTTP_${res.status}`);
  return body;
}
