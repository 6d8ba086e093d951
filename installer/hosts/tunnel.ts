import type { OpenStream } from '../core/https.ts';
import type { RemoteHost } from './types.ts';

/** Connections to services on `host` itself (its loopback, any port asked), through its SSH connection. */
export function viaHost(host: RemoteHost): OpenStream {
  const open = host.openTunnel?.bind(host);
  if (!open) throw new Error(`${host.name}: this transport cannot tunnel connections`);
  return (port) => open(port);
}
