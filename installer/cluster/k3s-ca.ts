import { X509Certificate } from 'node:crypto';
import { sha256Hex } from '../core/hash.ts';
import type { DesiredFile } from '../hosts/files.ts';
import type { ClusterCa, ClusterCaRole } from './types.ts';

/**
 * The cluster's CAs the way k3s takes custom CA certificates: the CA files
 * under <data-dir>/server/tls, there before the first start of the first
 * server (k3s then issues every certificate of the cluster from them instead
 * of generating its own CAs, and keeps them in its datastore; the servers that
 * join get the same files from it), and the CA hash a full join token carries.
 * Pure: what the files are, never whether to write them (k3s.ts decides that).
 *
 * How palisade's PKI maps onto them: the palisade root signs five CAs, one per
 * trust role k3s has (server, client, request-header, etcd peer, etcd server),
 * each with path length 0. Not the intermediate: it signs leaves only, and
 * these CAs' keys sit on every controller, so they must not be able to issue
 * the registry's or the ingress's certificates. Not one CA for all roles: the
 * client and request-header CAs decide who may authenticate to the API (and
 * as whom), so none may be shared with anything else.
 */

/** each role's file, relative to the tls directory (k3s's names) */
export const CLUSTER_CA_FILES: ReadonlyArray<{ role: ClusterCaRole; file: string }> = [
  { role: 'server', file: 'server-ca' },
  { role: 'client', file: 'client-ca' },
  { role: 'requestHeader', file: 'request-header-ca' },
  { role: 'etcdPeer', file: 'etcd/peer-ca' },
  { role: 'etcdServer', file: 'etcd/server-ca' },
];

export const tlsDirOf = (dataDir: string): string => `${dataDir}/server/tls`;

/**
 * server-ca.crt carries the chain to the palisade root: it is what the API's
 * serving certificate is bundled with, what /cacerts hands a joining node and
 * what the admin kubeconfig trusts, and k3s takes a bundle's root for the
 * token's CA hash. The other four hold their CA alone: a trust anchor for
 * client certificates that included the root would accept any certificate the
 * palisade root ever signed.
 */
export function serverCaBundle(ca: ClusterCa): string {
  return ca.server.certPem + ca.rootPem;
}

export function clusterCaFiles(dataDir: string, ca: ClusterCa): DesiredFile[] {
  const dir = tlsDirOf(dataDir);
  return CLUSTER_CA_FILES.flatMap(({ role, file }) => [
    { path: `${dir}/${file}.crt`, source: Buffer.from(role === 'server' ? serverCaBundle(ca) : ca[role].certPem), mode: 0o644 },
    { path: `${dir}/${file}.key`, source: Buffer.from(ca[role].keyPem), mode: 0o600 },
  ]);
}

/** k3s's CA hash for custom CAs: SHA-256 of the root certificate's DER (its fingerprint). */
export function caHash(rootPem: string): string {
  return sha256Hex(Buffer.from(new X509Certificate(rootPem).raw));
}

/** The full ("secure") token: a node joining with it checks the server's CA against the hash before it sends the secret. */
export function fullToken(secret: string, ca: ClusterCa): string {
  return `K10${caHash(ca.rootPem)}::server:${secret}`;
}
