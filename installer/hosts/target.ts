import type { PalisadeConfig, SshEndpoint } from '../config/schema.ts';
import { resolveConfigPath } from '../config/paths.ts';

/** One SSH endpoint to connect to, with paths resolved. */
export interface HostTarget {
  /** the host's name in palisade.yaml ("jump host" for the bastion) */
  name: string;
  address: string;
  port: number;
  user: string;
  /** absolute path of the private key; absent: ssh-agent (SSH_AUTH_SOCK) */
  privateKey?: string;
  /** pinned SHA256 fingerprint */
  hostKey?: string;
  /** config field path of the pin, for messages (`hosts[1].hostKey`) */
  pinPath?: string;
  /** reach this host through that one (the jump host) */
  via?: HostTarget;
}

export function endpointTarget(name: string, e: SshEndpoint, baseDir: string, pinPath: string): HostTarget {
  return {
    name,
    address: e.address,
    port: e.port,
    user: e.user,
    ...(e.privateKey ? { privateKey: resolveConfigPath({ baseDir }, e.privateKey) } : {}),
    ...(e.hostKey ? { hostKey: e.hostKey } : {}),
    pinPath,
  };
}

export const JUMP_HOST_NAME = 'jump host';

/** Targets for the hosts in palisade.yaml (all, or `only` these names). */
export function configTargets(config: PalisadeConfig, baseDir: string, only?: readonly string[]): HostTarget[] {
  const jump = config.jumpHost ? endpointTarget(JUMP_HOST_NAME, config.jumpHost, baseDir, 'jumpHost.hostKey') : undefined;
  return config.hosts.flatMap((h, i) => {
    if (only && !only.includes(h.name)) return [];
    const t = endpointTarget(h.name, h, baseDir, `hosts[${i}].hostKey`);
    if (h.viaJumpHost && jump) t.via = jump;
    return [t];
  });
}
