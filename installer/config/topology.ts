import type { HostConfig, PalisadeConfig } from './schema.ts';

/**
 * The cluster's shape, computed once from palisade.yaml: who the controllers
 * are, which one the cluster starts on, where the registry runs, where the API
 * answers and under which names, and which hosts encrypt their disks. Every
 * module asks this instead of deriving it again; it reads the config only
 * (no host, no file).
 */

/** The port the Kubernetes API listens on (k3s's default, fixed by the appliance). */
export const API_PORT = 6443;
export const DEFAULT_REGISTRY_STORAGE = '/var/lib/palisade/registry';

/** first: the controller the cluster is initialised on; server: another controller; agent: a worker */
export type NodeRole = 'first' | 'server' | 'agent';

export interface TopologyNode {
  name: string;
  address: string;
  role: NodeRole;
}

export interface Topology {
  readonly hosts: readonly HostConfig[];
  readonly controllers: readonly HostConfig[];
  readonly workers: readonly HostConfig[];
  /** the controller the cluster is initialised on (the first one listed) */
  readonly firstController: HostConfig;
  /** nodes in bring-up order: the first controller, the other controllers, the workers */
  readonly nodes: readonly TopologyNode[];
  readonly registry: {
    /** `registry.host`, else the first controller */
    host: HostConfig;
    port: number;
    /** host:port, as the cluster's nodes pull from it */
    endpoint: string;
    url: string;
    storageDir: string;
  };
  readonly api: {
    fqdn: string;
    port: number;
    /** https://<fqdn>:6443, as kubeconfigs name it */
    url: string;
    /** where the FQDN points: the VIP, or the first controller */
    address: string;
    vip: string | undefined;
    /** the addresses the API answers on: the VIP and every controller */
    endpoints: string[];
  };
  host(name: string): HostConfig | undefined;
  /** the encryption mode this host asks for (its override, else the cluster's) */
  encryptionMode(host: HostConfig | string): string;
  /** the host encrypts its data disks */
  encrypts(host: HostConfig | string): boolean;
  /** some host encrypts its data disks */
  readonly anyEncrypted: boolean;
}

const cache = new WeakMap<PalisadeConfig, Topology>();

export function topology(config: PalisadeConfig): Topology {
  let t = cache.get(config);
  if (!t) cache.set(config, (t = compute(config)));
  return t;
}

function compute(c: PalisadeConfig): Topology {
  const hosts = c.hosts;
  const controllers = hosts.filter((h) => h.role === 'controller');
  const workers = hosts.filter((h) => h.role === 'worker');
  const firstController = controllers[0] ?? hosts[0]!;
  const registryHost = hosts.find((h) => h.name === c.registry.host) ?? firstController;
  const endpoint = `${registryHost.address}:${c.registry.port}`;
  const byName = new Map(hosts.map((h) => [h.name, h]));
  const modeOf = (h: HostConfig | string): string => {
    const hc = typeof h === 'string' ? byName.get(h) : h;
    return hc?.encryption?.mode ?? c.encryption.mode ?? 'none';
  };
  return {
    hosts,
    controllers,
    workers,
    firstController,
    nodes: [
      { name: firstController.name, address: firstController.address, role: 'first' },
      ...controllers.filter((h) => h !== firstController).map((h) => ({ name: h.name, address: h.address, role: 'server' as const })),
      ...workers.filter((h) => h !== firstController).map((h) => ({ name: h.name, address: h.address, role: 'agent' as const })),
    ],
    registry: {
      host: registryHost,
      port: c.registry.port,
      endpoint,
      url: `https://${endpoint}`,
      storageDir: c.registry.storageDir ?? DEFAULT_REGISTRY_STORAGE,
    },
    api: {
      fqdn: c.cluster.fqdn,
      port: API_PORT,
      url: `https://${c.cluster.fqdn}:${API_PORT}`,
      address: c.cluster.vip ?? firstController.address,
      vip: c.cluster.vip,
      endpoints: [...new Set([...(c.cluster.vip ? [c.cluster.vip] : []), ...controllers.map((h) => h.address)])],
    },
    host: (name) => byName.get(name),
    encryptionMode: modeOf,
    encrypts: (h) => modeOf(h) !== 'none',
    anyEncrypted: hosts.some((h) => modeOf(h) !== 'none'),
  };
}
