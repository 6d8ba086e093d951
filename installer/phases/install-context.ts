import type { KeyObject } from 'node:crypto';
import type { Bundle } from '../bundle/open.ts';
import type { ClusterDriver, ClusterSpec, ClusterArtifacts, NodeSpec } from '../cluster/types.ts';
import type { HostConfig, PalisadeConfig } from '../config/schema.ts';
import type { HostFacts } from '../facts/types.ts';
import type { RemoteHost } from '../hosts/types.ts';
import type { Keystore } from '../keystore/types.ts';
import type { KeySet, KeySetInput } from '../pki/keyset.ts';
import type { HostLocks } from '../state/host-lock.ts';
import type { Journal } from '../state/journal.ts';
import type { PalisadeError } from '../core/errors.ts';

/** Everything the install phases share. Phases fill it in as they run (connections, facts, keys). */
export interface InstallContext {
  config: PalisadeConfig;
  configPath: string;
  baseDir: string;
  /** .palisade/<cluster> */
  stateDir: string;
  bundlePath: string;
  trustedKey: KeyObject;
  dryRun: boolean;
  yes: boolean;
  runId: string;
  journal: Journal | undefined;
  driver: ClusterDriver;
  signal: AbortSignal;
  /** connect to the hosts (the SSH transport; tests hand in another) */
  connect: (config: PalisadeConfig, baseDir: string) => Promise<{ hosts: Map<string, RemoteHost>; failures: { name: string; error: PalisadeError }[] }>;
  /** the keystore passphrase (env, file or prompt) */
  passphrase: (create: boolean) => Promise<string>;
  /** keystore path */
  keystorePath: string;

  bundle?: Bundle;
  hosts: Map<string, RemoteHost>;
  hostLocks?: HostLocks;
  facts: Map<string, HostFacts>;
  /** /etc/machine-id of each connected host (read by the connect phase) */
  machineIds?: Map<string, string>;
  /** hosts preflight must check in this run: all of them until it has passed once, then the new or replaced ones */
  preflightTargets?: string[];
  keystore?: Keystore;
  keys?: KeySet;
  artifacts?: ClusterArtifacts;
  /** the encrypt phase found every disk as configured, or applied and verified it, in this run (verify need not probe them again) */
  disksInPlace?: boolean;
  /** timings and results for the report */
  report: {
    startedAt: string;
    phases: Record<string, { status: string; durationMs?: number }>;
    notes: Array<{ phase: string; host?: string; note: string }>;
    verify?: VerifyResult;
  };
}

export interface VerifyResult {
  ok: boolean;
  checks: Array<{ name: string; ok: boolean; detail: string }>;
}

export const controllers = (c: PalisadeConfig): HostConfig[] => c.hosts.filter((h) => h.role === 'controller');
export const workers = (c: PalisadeConfig): HostConfig[] => c.hosts.filter((h) => h.role === 'worker');
export const firstController = (c: PalisadeConfig): HostConfig => controllers(c)[0] ?? c.hosts[0]!;
export const registryHostConfig = (c: PalisadeConfig): HostConfig => c.hosts.find((h) => h.name === c.registry.host) ?? firstController(c);
export const registryEndpoint = (c: PalisadeConfig): string => `${registryHostConfig(c).address}:${c.registry.port}`;
export const registryUrl = (c: PalisadeConfig): string => `https://${registryEndpoint(c)}`;
export const registryStorage = (c: PalisadeConfig): string => c.registry.storageDir ?? '/var/lib/palisade/registry';

export function keySetInput(c: PalisadeConfig): KeySetInput {
  return {
    cluster: c.cluster.name,
    fqdn: c.cluster.fqdn,
    vip: c.cluster.vip,
    hosts: c.hosts.map((h) => ({ name: h.name, address: h.address, role: h.role })),
    registryHost: registryHostConfig(c).name,
    serviceCidr: c.cluster.serviceCidr,
  };
}

export function nodeSpecs(c: PalisadeConfig): NodeSpec[] {
  const first = firstController(c);
  return [
    { name: first.name, address: first.address, role: 'first' },
    ...controllers(c).filter((h) => h.name !== first.name).map((h) => ({ name: h.name, address: h.address, role: 'server' as const })),
    ...workers(c).map((h) => ({ name: h.name, address: h.address, role: 'agent' as const })),
  ];
}

export function clusterSpec(c: PalisadeConfig, keys: KeySet, dataDir?: string): ClusterSpec {
  const first = firstController(c);
  return {
    token: keys.secrets.joinToken,
    fqdn: c.cluster.fqdn,
    ...(c.cluster.vip ? { vip: c.cluster.vip } : {}),
    podCidr: c.cluster.podCidr,
    serviceCidr: c.cluster.serviceCidr,
    firstServer: { name: first.name, address: first.address },
    registry: { endpoint: registryEndpoint(c), username: keys.secrets.registry.username, password: keys.secrets.registry.password, caPem: keys.rootCa.certPem },
    ...(dataDir ? { dataDir } : {}),
  };
}

export function host(ctx: InstallContext, name: string): RemoteHost {
  const h = ctx.hosts.get(name);
  if (!h) throw new Error(`${name} is not connected`);
  return h;
}
