/**
 * The appliance's own registry as an operator's command finds it: its URL from
 * palisade.yaml, the CA and the credentials from the keystore. So `palisade
 * registry verify -c palisade.yaml --bundle B` needs no other flag.
 */
import type { PalisadeConfig } from '../config/schema.ts';
import { usageError } from '../core/errors.ts';
import { KEY_NAMES } from '../pki/keyset.ts';
import type { Keystore } from '../keystore/types.ts';

export interface SiteRegistry {
  /** host:port, as image references and auth.json name it */
  endpoint: string;
  url: string;
  caPem: string;
  username: string;
  password: string;
}

/** host:port of the pack registry (registry.host, else the first controller). */
export function siteRegistryEndpoint(c: PalisadeConfig): string {
  const host = c.hosts.find((h) => h.name === c.registry.host) ?? c.hosts.find((h) => h.role === 'controller') ?? c.hosts[0];
  if (!host) throw usageError('registry.no-host', 'palisade.yaml lists no host to run the registry');
  return `${host.address.includes(':') ? `[${host.address}]` : host.address}:${c.registry.port}`;
}

export function siteRegistry(c: PalisadeConfig, ks: Keystore): SiteRegistry {
  const endpoint = siteRegistryEndpoint(c);
  const root = ks.get(KEY_NAMES.rootCa)?.meta?.cert;
  const creds = ks.get(KEY_NAMES.registryCredentials);
  if (!root || !creds?.meta?.username) {
    throw usageError(
      'registry.no-keys',
      `the keystore has no ${!root ? `${KEY_NAMES.rootCa} certificate` : `${KEY_NAMES.registryCredentials} credentials`} for the registry`,
      'run `palisade install` (or `palisade keys generate`) first',
    );
  }
  return { endpoint, url: `https://${endpoint}`, caPem: root, username: creds.meta.username, password: creds.value };
}
