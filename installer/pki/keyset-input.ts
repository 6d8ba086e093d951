import type { PalisadeConfig } from '../config/schema.ts';
import { topology } from '../config/topology.ts';
import type { KeySetInput } from './keyset.ts';
import type { KeyAlgorithm } from './x509.ts';

/** What the cluster's key set is made for, from the config: names, addresses, the registry host. */
export function keySetInput(config: PalisadeConfig, algorithm?: KeyAlgorithm): KeySetInput {
  return {
    cluster: config.cluster.name,
    fqdn: config.cluster.fqdn,
    vip: config.cluster.vip,
    hosts: config.hosts.map((h) => ({ name: h.name, address: h.address, role: h.role })),
    registryHost: topology(config).registry.host.name,
    serviceCidr: config.cluster.serviceCidr,
    ...(algorithm ? { algorithm } : {}),
  };
}
