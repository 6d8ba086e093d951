import tls from 'node:tls';
import type { RequestOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import type { RemoteHost } from './types.ts';

/** Opens a TCP stream for a connection to `host`:`port` (e.g. through a host's SSH connection). */
export type OpenStream = (port: number, host: string) => Promise<Duplex>;
/** The shape of Node's https `createConnection` (request option or Agent method). */
export type CreateConnection = (options: RequestOptions, cb: (err: Error | null, stream: Duplex) => void) => undefined;

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

/** Connections to services on `host` itself (its loopback, any port asked), through its SSH connection. */
export function viaHost(host: RemoteHost): OpenStream {
  const open = host.openTunnel?.bind(host);
  if (!open) throw new Error(`${host.name}: this transport cannot tunnel connections`);
  return (port) => open(port);
}
