/**
 * What the key set of one cluster is, as pure data: the input it is made
 * from (cluster, hosts, addresses), the keystore names of its entries, and
 * the spec of each entry in the order they are made (CAs first, then the
 * leaves with their names and addresses, then the secrets). Making the
 * entries is keyset.ts.
 */
import { isIP } from 'node:net';
import type { KeyKind } from '../keystore/types.ts';
import type { LeafUsage } from './ca.ts';
import type { KeyAlgorithm } from './x509.ts';

export interface KeySetHost {
  name: string;
  address: string;
  role: 'controller' | 'worker';
}

export interface KeySetInput {
  cluster: string;
  fqdn: string;
  vip?: string | undefined;
  hosts: KeySetHost[];
  /** the host that runs the pack registry (default: the first controller) */
  registryHost?: string | undefined;
  /** cluster service CIDR: its first address is the in-cluster API address (default 10.43.0.0/16) */
  serviceCidr?: string | undefined;
  algorithm?: KeyAlgorithm;
  now?: Date;
}

export const KEY_NAMES = {
  rootCa: 'ca/root',
  intermediateCa: 'ca/intermediate',
  hostServer: (host: string) => `tls/host/${host}/server`,
  hostClient: (host: string) => `tls/host/${host}/client`,
  registry: 'tls/registry',
  ingressFallback: 'tls/ingress-fallback',
  api: 'tls/api',
  ingress: 'tls/ingress',
  joinToken: 'secret/join-token',
  secretsAtRest: 'secret/secrets-at-rest',
  jwtSigning: 'secret/jwt-signing',
  passwordSalt: 'secret/password-salt',
  registryCredentials: 'secret/registry',
  /** the cluster's own CAs (k3s's custom CA files): one per trust role, each signed by the root */
  clusterCa: {
    server: 'ca/cluster/server',
    client: 'ca/cluster/client',
    requestHeader: 'ca/cluster/request-header',
    etcdPeer: 'ca/cluster/etcd-peer',
    etcdServer: 'ca/cluster/etcd-server',
  },
} as const;

export type ClusterCaRole = keyof typeof KEY_NAMES.clusterCa;
export const CLUSTER_CA_ROLES = Object.keys(KEY_NAMES.clusterCa) as ClusterCaRole[];
/** entries a key set is complete without: a keystore made before palisade provided the cluster CAs lacks them (the install adds them) */
export const isOptionalEntry = (name: string): boolean => Object.values(KEY_NAMES.clusterCa).includes(name as never);
export const CLUSTER_CA_TITLES: Record<ClusterCaRole, string> = {
  server: 'server',
  client: 'client',
  requestHeader: 'request-header',
  etcdPeer: 'etcd peer',
  etcdServer: 'etcd server',
};

export interface LeafSpec {
  commonName: string;
  usage: LeafUsage;
  dnsNames: string[];
  ipAddresses: string[];
}

export interface EntrySpec {
  name: string;
  kind: KeyKind;
  leaf?: LeafSpec;
  clusterCa?: ClusterCaRole;
}

const uniq = (xs: string[]): string[] => [...new Set(xs.filter(Boolean))];
const split = (addrs: string[]) => ({ dns: uniq(addrs.filter((a) => !isIP(a)).map((a) => a.toLowerCase())), ips: uniq(addrs.filter((a) => isIP(a))) });

function firstAddress(cidr: string): string {
  const [base = '10.43.0.0'] = cidr.split('/');
  const n =
    base
      .split('.')
      .map(Number)
      .reduce((a, b) => a * 256 + b, 0) + 1;
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Every entry the cluster needs, in the order they are made. */
export function keySetSpecs(input: KeySetInput): EntrySpec[] {
  const leaf = (commonName: string, usage: LeafUsage, addrs: string[]): LeafSpec => {
    const { dns, ips } = split(addrs);
    return { commonName, usage, dnsNames: dns, ipAddresses: ips };
  };
  const controllers = input.hosts.filter((h) => h.role === 'controller');
  const registryHost = input.hosts.find((h) => h.name === input.registryHost) ?? controllers[0] ?? input.hosts[0];
  const vip = input.vip ? [input.vip] : [];
  const specs: EntrySpec[] = [
    { name: KEY_NAMES.rootCa, kind: 'root-ca' },
    { name: KEY_NAMES.intermediateCa, kind: 'intermediate-ca' },
    ...CLUSTER_CA_ROLES.map((role): EntrySpec => ({ name: KEY_NAMES.clusterCa[role], kind: 'cluster-ca', clusterCa: role })),
  ];
  for (const h of input.hosts) {
    specs.push({
      name: KEY_NAMES.hostServer(h.name),
      kind: 'tls-server',
      leaf: leaf(h.name, 'server', [h.name, `${h.name}.${input.fqdn}`, h.address, 'localhost', '127.0.0.1']),
    });
    specs.push({ name: KEY_NAMES.hostClient(h.name), kind: 'tls-client', leaf: leaf(h.name, 'client', []) });
  }
  specs.push({
    name: KEY_NAMES.registry,
    kind: 'tls-server',
    leaf: leaf(`registry.${input.fqdn}`, 'server', [
      `registry.${input.fqdn}`,
      input.fqdn,
      ...(registryHost ? [registryHost.name, registryHost.address] : []),
      ...vip,
    ]),
  });
  specs.push({ name: KEY_NAMES.ingressFallback, kind: 'tls-server', leaf: leaf(input.fqdn, 'server', [input.fqdn, `*.${input.fqdn}`, ...vip]) });
  specs.push({
    name: KEY_NAMES.api,
    kind: 'tls-server',
    leaf: leaf(input.fqdn, 'server', [
      input.fqdn,
      ...vip,
      ...controllers.flatMap((h) => [h.name, h.address]),
      'kubernetes',
      'kubernetes.default',
      'kubernetes.default.svc',
      'kubernetes.default.svc.cluster.local',
      'localhost',
      '127.0.0.1',
      firstAddress(input.serviceCidr ?? '10.43.0.0/16'),
    ]),
  });
  specs.push(
    { name: KEY_NAMES.joinToken, kind: 'join-token' },
    { name: KEY_NAMES.secretsAtRest, kind: 'encryption-key' },
    { name: KEY_NAMES.jwtSigning, kind: 'jwt-signing-key' },
    { name: KEY_NAMES.passwordSalt, kind: 'password-salt' },
    { name: KEY_NAMES.registryCredentials, kind: 'registry-credentials' },
  );
  return specs;
}
