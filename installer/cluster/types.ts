import type { TopologyNode } from '../config/topology.ts';
import type { RemoteHost } from '../hosts/types.ts';

/**
 * The management cluster's driver. The install phases and `palisade status`
 * talk to the cluster only through this; the k3s driver is the production one.
 */
export type { NodeRole } from '../config/topology.ts';
/** a node: its name in palisade.yaml, address, role (config/topology.ts orders them) */
export type NodeSpec = TopologyNode;

export interface RegistryMirror {
  /** host:port of the seeded registry */
  endpoint: string;
  username: string;
  password: string;
  /** PEM of the CA that issued the registry's certificate */
  caPem: string;
}

export type ClusterCaRole = 'server' | 'client' | 'requestHeader' | 'etcdPeer' | 'etcdServer';

/** The cluster's own CAs from palisade's PKI (cluster/k3s-ca.ts says how they map), with the root they chain to. */
export type ClusterCa = Record<ClusterCaRole, { certPem: string; keyPem: string }> & { rootPem: string };

export interface ClusterSpec {
  /** join token (a secret: uploaded 0600, never on a command line) */
  token: string;
  fqdn: string;
  vip?: string;
  podCidr: string;
  serviceCidr: string;
  /** the first controller: the others join it */
  firstServer: { name: string; address: string };
  registry?: RegistryMirror;
  /** where the cluster keeps its state (on the encrypted volume when it is open) */
  dataDir?: string;
  /** extra kube-apiserver flags for every controller (`name=value`, e.g. the OIDC settings) */
  apiServerArgs?: string[];
  /** k3s's own scheduled datastore snapshots on the controllers */
  snapshots?: { scheduleCron: string; retention: number };
  /** PEM of the CA of the OIDC issuer, put on every controller */
  oidcCaPem?: string;
  /**
   * palisade's CAs for the cluster: placed on the controllers, and the nodes that join check the
   * first controller against their root. Absent for a cluster that already runs on CAs of its own.
   */
  clusterCa?: ClusterCa;
}

export interface ClusterArtifacts {
  /** the cluster binary: a local file */
  binary: string;
  /** its signed digest (SHA-256 hex, from the bundle): what the host must end up with, checked as it is uploaded */
  binarySha256?: string;
  /** the air-gap images tarball, when the bundle has one: a local file */
  imagesTarball?: string;
  imagesTarballSha256?: string;
}

export interface NodeCheck {
  /** files that differ from what they should be (empty: in place) */
  changed: string[];
  /** the service is running */
  active: boolean;
  /** the node answers as part of the cluster */
  ready: boolean;
}

export interface ClusterDriver {
  readonly name: string;
  /** what is not in place on this node (pure check, changes nothing) */
  check(host: RemoteHost, node: NodeSpec, spec: ClusterSpec, art: ClusterArtifacts, api?: RemoteHost): Promise<NodeCheck>;
  /** put the binary, images, config, registries and unit in place; returns the files changed (nothing started) */
  install(host: RemoteHost, node: NodeSpec, spec: ClusterSpec, art: ClusterArtifacts): Promise<string[]>;
  initFirstServer(host: RemoteHost, node: NodeSpec, spec: ClusterSpec, art: ClusterArtifacts, o?: WaitOptions): Promise<void>;
  joinServer(host: RemoteHost, node: NodeSpec, spec: ClusterSpec, art: ClusterArtifacts, api: RemoteHost, o?: WaitOptions): Promise<void>;
  joinAgent(host: RemoteHost, node: NodeSpec, spec: ClusterSpec, art: ClusterArtifacts, api: RemoteHost, o?: WaitOptions): Promise<void>;
  /** wait until the node's service is up and the node is Ready in the cluster (asked through `api`) */
  waitReady(host: RemoteHost, node: NodeSpec, api: RemoteHost, o?: WaitOptions): Promise<void>;
  /** undo a half-initialised node so a retry starts clean (never touches a node that was ever ready) */
  reset(host: RemoteHost, node: NodeSpec, spec: ClusterSpec): Promise<boolean>;
  apply(api: RemoteHost, objects: ReadonlyArray<Record<string, unknown>>): Promise<string[]>;
  get(api: RemoteHost, kind: string, name?: string, namespace?: string): Promise<KubeObject | undefined>;
  /** every object of a kind (or kinds, comma separated), in all namespaces, optionally those a label selector picks (`k=v,k2=v2`) */
  list(api: RemoteHost, kind: string, o?: { labelSelector?: string }): Promise<KubeObject[]>;
  delete(api: RemoteHost, kind: string, name: string, namespace?: string): Promise<boolean>;
  // ---- datastore snapshots and the restore from one (backup, restore) ----
  /** take a datastore snapshot on a controller; returns where it is on that host */
  snapshot(api: RemoteHost, name: string): Promise<SnapshotRef>;
  snapshots(host: RemoteHost): Promise<SnapshotRef[]>;
  /** stop the node's cluster service (a no-op when it is not running) */
  stopService(host: RemoteHost, node: NodeSpec): Promise<void>;
  /** rebuild the datastore of this stopped controller from a snapshot file on it; the spec's token must be the original one */
  restoreSnapshot(host: RemoteHost, node: NodeSpec, spec: ClusterSpec, art: ClusterArtifacts, snapshotPath: string): Promise<void>;
  /** remove a stopped controller's datastore so it rejoins from the restored one; true when there was one */
  clearDatastore(host: RemoteHost, node: NodeSpec, spec: ClusterSpec): Promise<boolean>;
  /** the admin kubeconfig with its server rewritten to https://<fqdn>:6443 */
  kubeconfig(api: RemoteHost, fqdn: string): Promise<string>;
  version(host: RemoteHost): Promise<string | undefined>;
  /**
   * Whose CAs the cluster runs on, asked on the first controller: 'palisade' when they are `ca`'s (or
   * it was never started, so they will be), 'own' when it was started on CAs of its own (an install
   * made before palisade provided them: those stay, a cluster's CA cannot be swapped under it).
   */
  clusterCaInUse(first: RemoteHost, node: NodeSpec, spec: ClusterSpec, ca: ClusterCa): Promise<'palisade' | 'own'>;

  // ---- rolling upgrade, one node at a time ----
  /** the node's own API server answers /readyz (asked on the host) */
  readyz(host: RemoteHost): Promise<boolean>;
  /** mark the node unschedulable (on) or schedulable again */
  cordon(api: RemoteHost, node: string, on: boolean): Promise<void>;
  /** evict the node's pods, respecting Pod Disruption Budgets; a timeout names the pods that block it */
  drain(api: RemoteHost, node: string, o: { timeoutMs: number; force?: boolean }): Promise<void>;
  /** replace the binary and images tarball atomically, keeping the previous ones; true when something changed */
  swapBinary(host: RemoteHost, node: NodeSpec, spec: ClusterSpec, art: ClusterArtifacts): Promise<boolean>;
  /** put the previous binary back; false when none was kept */
  restoreBinary(host: RemoteHost, node: NodeSpec): Promise<boolean>;
  restart(host: RemoteHost, node: NodeSpec): Promise<void>;
  /** wait until the node is Ready and reports `version` (kubelet and binary) */
  waitReadyAt(host: RemoteHost, node: NodeSpec, api: RemoteHost, version: string, o?: WaitOptions): Promise<void>;
}

export interface SnapshotRef {
  name: string;
  /** absolute path on the host that took it */
  path: string;
  size: number;
  createdAt?: string;
}

export interface WaitOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  onProgress?: (line: string) => void;
}

export interface KubeObject {
  apiVersion?: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
  data?: Record<string, string>;
  items?: KubeObject[];
  status?: { conditions?: Array<{ type: string; status: string }>; [k: string]: unknown };
  [k: string]: unknown;
}
