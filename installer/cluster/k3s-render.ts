import { parseDocument } from 'yaml';
import { API_PORT } from '../config/topology.ts';
import { fullToken } from './k3s-ca.ts';
import type { ClusterSpec, NodeSpec } from './types.ts';

/**
 * The files of k3s's air-gap install, as pure functions: config.yaml,
 * registries.yaml and the systemd units (as k3s's install.sh writes them).
 */
export const K3S_PATHS = {
  binary: '/usr/local/bin/k3s',
  configDir: '/etc/rancher/k3s',
  config: '/etc/rancher/k3s/config.yaml',
  registries: '/etc/rancher/k3s/registries.yaml',
  registryCa: '/etc/rancher/k3s/palisade-registry-ca.crt',
  oidcCa: '/etc/rancher/k3s/palisade-oidc-ca.crt',
  kubeconfig: '/etc/rancher/k3s/k3s.yaml',
  /** written once the node was ready once: a node with it is never reset */
  initialized: '/etc/rancher/k3s/.palisade-initialized',
  defaultDataDir: '/var/lib/rancher/k3s',
} as const;

export { API_PORT };

export const unitName = (role: NodeSpec['role']): string => (role === 'agent' ? 'k3s-agent' : 'k3s');
export const unitPath = (role: NodeSpec['role']): string => `/etc/systemd/system/${unitName(role)}.service`;
export const dataDirOf = (spec: ClusterSpec): string => spec.dataDir ?? K3S_PATHS.defaultDataDir;
export const imagesDir = (spec: ClusterSpec): string => `${dataDirOf(spec)}/agent/images`;

/** A YAML scalar every YAML parser reads back as the same string (JSON strings are YAML). */
const q = (s: string): string => JSON.stringify(s);

/**
 * A node that joins gets the full token when the cluster runs on palisade's CAs: it checks the first
 * controller's CA against the palisade root before it sends the secret. The first controller keeps the
 * short form (what encrypts its datastore's bootstrap data is the secret either way).
 */
export function tokenFor(node: NodeSpec, spec: ClusterSpec): string {
  return node.role !== 'first' && spec.clusterCa ? fullToken(spec.token, spec.clusterCa) : spec.token;
}

export function renderK3sConfig(node: NodeSpec, spec: ClusterSpec): string {
  const lines = ['# written by palisade; changes are replaced on the next install', `token: ${q(tokenFor(node, spec))}`, `node-name: ${q(node.name)}`];
  if (spec.dataDir) lines.push(`data-dir: ${q(spec.dataDir)}`);
  if (node.role !== 'first') lines.push(`server: ${q(`https://${spec.firstServer.address}:${API_PORT}`)}`);
  if (node.role !== 'agent') {
    if (node.role === 'first') lines.push('cluster-init: true');
    lines.push('tls-san:', ...[spec.fqdn, ...(spec.vip ? [spec.vip] : []), node.address].map((s) => `  - ${q(s)}`));
    lines.push('secrets-encryption: true', `cluster-cidr: ${q(spec.podCidr)}`, `service-cidr: ${q(spec.serviceCidr)}`, 'write-kubeconfig-mode: "0600"');
    if (spec.snapshots) lines.push(`etcd-snapshot-schedule-cron: ${q(spec.snapshots.scheduleCron)}`, `etcd-snapshot-retention: ${spec.snapshots.retention}`);
    if (spec.apiServerArgs?.length) lines.push('kube-apiserver-arg:', ...spec.apiServerArgs.map((a) => `  - ${q(a)}`));
  }
  lines.push(`node-ip: ${q(node.address)}`);
  return lines.join('\n') + '\n';
}

/** Every registry (docker.io, any other: "*") is mirrored by the seeded local registry, reached with our CA and credentials. */
export function renderRegistries(spec: ClusterSpec): string | undefined {
  const r = spec.registry;
  if (!r) return undefined;
  const ep = q(`https://${r.endpoint}`);
  return (
    [
      '# written by palisade: every image comes from the seeded local registry',
      'mirrors:',
      '  docker.io:',
      `    endpoint: [${ep}]`,
      `  ${q(r.endpoint)}:`,
      `    endpoint: [${ep}]`,
      '  "*":',
      `    endpoint: [${ep}]`,
      'configs:',
      `  ${q(r.endpoint)}:`,
      '    auth:',
      `      username: ${q(r.username)}`,
      `      password: ${q(r.password)}`,
      '    tls:',
      `      ca_file: ${q(K3S_PATHS.registryCa)}`,
    ].join('\n') + '\n'
  );
}

/** The unit k3s's install.sh writes (Type=notify: systemd waits for READY=1). */
export function renderK3sUnit(role: NodeSpec['role']): string {
  const agent = role === 'agent';
  return `[Unit]
Description=Lightweight Kubernetes
Documentation=https://k3s.io
Wants=network-online.target
After=network-online.target

[Install]
WantedBy=multi-user.target

[Service]
Type=notify
EnvironmentFile=-/etc/default/%N
EnvironmentFile=-/etc/sysconfig/%N
KillMode=process
Delegate=yes
LimitNOFILE=1048576
LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity
TimeoutStartSec=0
Restart=always
RestartSec=5s
ExecStartPre=-/sbin/modprobe br_netfilter
ExecStartPre=-/sbin/modprobe overlay
ExecStart=${K3S_PATHS.binary} ${agent ? 'agent' : 'server'}
`;
}

/** Point the kubeconfig k3s writes (server https://127.0.0.1:6443) at the appliance FQDN. */
export function rewriteKubeconfig(text: string, server: string): string {
  const doc = parseDocument(text);
  const clusters = doc.get('clusters') as { items?: Array<{ getIn(p: string[]): unknown; setIn(p: string[], v: unknown): void }> } | undefined;
  if (!clusters?.items?.length) throw new Error('the kubeconfig names no cluster');
  for (const c of clusters.items) c.setIn(['cluster', 'server'], server);
  return doc.toString();
}
