import type { RemoteHost } from '../../../hosts/types.ts';
import type { OpenStream } from '../../../core/https.ts';
import { viaHost } from '../../../hosts/tunnel.ts';
import type { Outputs } from '../../types.ts';
import type { InstallContext } from '../context.ts';
import { HOSTS } from '../outputs.ts';

/** The connection to one host, from the connect phase's output. */
export function hostOf(outputs: Outputs, name: string): RemoteHost {
  const h = outputs.get(HOSTS).get(name);
  if (!h) throw new Error(`${name} is not connected`);
  return h;
}

/** A host behind the jump host is not reachable from here: HTTPS to it goes through its own SSH connection (TLS verified as usual). */
export function tunnelTo(ctx: InstallContext, outputs: Outputs, name: string): { connect?: OpenStream } {
  return ctx.topology.host(name)?.viaJumpHost ? { connect: viaHost(hostOf(outputs, name)) } : {};
}
