import { readFile } from 'node:fs/promises';
import type { Bundle } from '../bundle/open.ts';
import type { ClusterDriver, KubeObject } from '../cluster/types.ts';
import type { PalisadeConfig } from '../config/schema.ts';
import { errorMessage } from '../core/errors.ts';
import { settleLimit } from '../core/limit.ts';
import { sh } from '../core/quote.ts';
import { viaHost } from '../hosts/tunnel.ts';
import type { RemoteHost } from '../hosts/types.ts';
import { apiReady, kubeconfigCreds } from '../cluster/api.ts';
import { DEFAULT_PATHS as REGISTRY_PATHS, REGISTRY_SERVICE } from '../registry/service.ts';
import type { BundleTarget, LiveNode, LiveState } from './plan.ts';

/**
 * What runs now, read from the hosts and the cluster (never only from the
 * journal): each host's k3s binary version, each node's kubelet version and
 * readiness, the API through the FQDN on every controller, the registry
 * service. Health problems come back as sentences that start with the host.
 */
export interface LiveInput {
  config: PalisadeConfig;
  hosts: ReadonlyMap<string, RemoteHost>;
  driver: ClusterDriver;
  /** the admin kubeconfig palisade wrote at install */
  kubeconfigPath: string;
}

const controllersOf = (c: PalisadeConfig) => c.hosts.filter((h) => h.role === 'controller');

/** The first controller that answers the API: the one to ask about the cluster. */
export async function apiHostOf(i: Pick<LiveInput, 'config' | 'hosts' | 'driver'>, avoid: string[] = []): Promise<RemoteHost | undefined> {
  for (const c of controllersOf(i.config)) {
    const h = i.hosts.get(c.name);
    if (!h || avoid.includes(c.name)) continue;
    const r = await h
      .exec(sh`k3s kubectl get --raw /readyz 2>/dev/null || /usr/local/bin/k3s kubectl get --raw /readyz`, { sudo: true })
      .catch(() => undefined);
    if (r?.code === 0 && r.stdout.trim() === 'ok') return h;
  }
  return undefined;
}

export function nodeReady(n: KubeObject | undefined): boolean {
  return !!n?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
}

export function kubeletVersion(n: KubeObject | undefined): string | undefined {
  return (n?.status as { nodeInfo?: { kubeletVersion?: string } } | undefined)?.nodeInfo?.kubeletVersion;
}

/** The API through the FQDN on every controller, every node Ready, the registry service active. */
export async function healthProblems(i: LiveInput, nodes?: KubeObject[]): Promise<string[]> {
  const problems: string[] = [];
  let kc: { ca: string; cert: string; key: string } | undefined;
  try {
    kc = kubeconfigCreds(await readFile(i.kubeconfigPath, 'utf8'));
  } catch (e) {
    problems.push(`kubeconfig: cannot read ${i.kubeconfigPath} (${errorMessage(e)})`);
  }
  const fqdn = i.config.cluster.fqdn;
  if (kc) {
    const creds = kc;
    await settleLimit(controllersOf(i.config), i.config.ssh.concurrency, async (c) => {
      const h = i.hosts.get(c.name);
      try {
        await apiReady(c.address, fqdn, creds, c.viaJumpHost && h ? viaHost(h) : undefined);
      } catch (e) {
        problems.push(`${c.name}: the API through ${fqdn} does not answer /readyz (${errorMessage(e)})`);
      }
    });
  }
  const list = nodes ?? (await listNodes(i).catch(() => undefined));
  if (!list) problems.push('cluster: no controller answers the API, so the nodes cannot be listed');
  else {
    for (const h of i.config.hosts) {
      const n = list.find((x) => x.metadata.name === h.name);
      if (!n) problems.push(`${h.name}: the node is not registered in the cluster`);
      else if (!nodeReady(n)) problems.push(`${h.name}: the node is not Ready${h.role === 'controller' ? ' (a datastore member is down)' : ''}`);
    }
  }
  const reg = i.config.hosts.find((h) => h.name === i.config.registry.host) ?? controllersOf(i.config)[0]!;
  const rh = i.hosts.get(reg.name);
  const active = rh ? (await rh.exec(sh`systemctl is-active ${REGISTRY_SERVICE}`, { sudo: true }).catch(() => undefined))?.stdout.trim() : 'not connected';
  if (active !== 'active') problems.push(`${reg.name}: the registry service ${REGISTRY_SERVICE} is ${active || 'unknown'}`);
  return problems.sort();
}

export async function listNodes(i: Pick<LiveInput, 'config' | 'hosts' | 'driver'>, avoid: string[] = []): Promise<KubeObject[]> {
  const api = await apiHostOf(i, avoid);
  if (!api) throw new Error('no controller answers the API');
  return (await i.driver.get(api, 'nodes'))?.items ?? [];
}

export async function readLive(i: LiveInput): Promise<LiveState> {
  const nodes = await listNodes(i).catch(() => undefined);
  const live: LiveNode[] = [];
  await settleLimit(i.config.hosts, i.config.ssh.concurrency, async (h) => {
    const rh = i.hosts.get(h.name);
    const n = nodes?.find((x) => x.metadata.name === h.name);
    live.push({
      name: h.name,
      role: h.role,
      binaryVersion: rh ? await i.driver.version(rh).catch(() => undefined) : undefined,
      kubeletVersion: kubeletVersion(n),
      ready: nodeReady(n),
    });
  });
  live.sort((a, b) => i.config.hosts.findIndex((h) => h.name === a.name) - i.config.hosts.findIndex((h) => h.name === b.name));
  const reg = i.config.hosts.find((h) => h.name === i.config.registry.host) ?? controllersOf(i.config)[0]!;
  const rh = i.hosts.get(reg.name);
  const rv = rh ? await rh.exec(sh`${REGISTRY_PATHS.binary} --version 2>&1 | head -1`, { sudo: true }).catch(() => undefined) : undefined;
  const registryVersion = /v?(\d+\.\d+\.\d+)/.exec(rv?.stdout ?? '')?.[1];
  return { nodes: live, unhealthy: await healthProblems(i, nodes), registryVersion };
}

/** What the bundle brings (call after verifying it). */
export function bundleTarget(b: Bundle): BundleTarget {
  const m = b.manifest;
  const bin = (n: string) => m.components.binaries.find((x) => x.name === n)?.version;
  return {
    name: m.name,
    version: m.version,
    path: b.path,
    k3s: bin('k3s'),
    registry: bin('registry')?.replace(/^v/, ''),
    images: m.components.images.map((x) => `${x.repository}:${x.tag}@${x.digest}`),
    packs: m.components.packs.map((p) => ({ name: p.name, version: p.version })),
  };
}
