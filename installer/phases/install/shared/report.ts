import type { KeyEntry } from '../../../keystore/types.ts';
import { KEY_NAMES, type KeySet } from '../../../pki/keyset.ts';
import type { Note } from '../../types.ts';
import type { VerifyResult } from '../outputs.ts';

/** The install report (install-report.json) and its text summary; `palisade status` reads the same file. */
export interface InstallReport {
  apiVersion: 'palisade/install-report-v1';
  cluster: string;
  fqdn: string;
  generatedAt: string;
  bundle: { name: string; version: string; path: string } | undefined;
  versions: { palisade: string; cluster: string | undefined };
  hosts: Array<{ name: string; role: string; address: string }>;
  /** only endpoints the verify phase reached; one nothing answered on is left out */
  endpoints: { api?: string; registry?: string; ingress?: string };
  /** the certificates the appliance really uses, and what for */
  certificates: Array<{ name: string; expiresAt: string; use?: string }>;
  keystore: string;
  kubeconfig: string;
  verify: VerifyResult | undefined;
  notes: Note[];
  backup: string[];
}

export function renderSummary(r: InstallReport): string {
  const lines = [
    `palisade appliance "${r.cluster}" is installed${r.verify?.ok ? ' and verified' : ''}`,
    `  bundle      ${r.bundle ? `${r.bundle.name} ${r.bundle.version}` : '?'}; cluster ${r.versions.cluster ?? '?'}`,
    `  hosts       ${r.hosts.map((h) => `${h.name} (${h.role}, ${h.address})`).join(', ')}`,
    `  API         ${r.endpoints.api ?? 'did not answer (see verify)'}`,
    `  registry    ${r.endpoints.registry ?? 'did not answer (see verify)'}`,
    ...(r.endpoints.ingress ? [`  ingress     ${r.endpoints.ingress}`] : []),
    `  kubeconfig  ${r.kubeconfig}`,
    `  keystore    ${r.keystore}`,
    `  certificates expire: ${sortedByExpiry(r.certificates)
      .map((c) => `${c.name} ${c.expiresAt.slice(0, 10)}`)
      .join(', ')}`,
    ...(r.notes.length ? ['  notes:', ...r.notes.map((n) => `    - ${n.note}`)] : []),
    '  back up (offline, with the passphrase kept apart):',
    ...r.backup.map((b) => `    - ${b}`),
  ];
  return lines.join('\n') + '\n';
}

/**
 * The certificates the appliance really uses, each with what for. Generated ones
 * nothing installs (the host certificates, the API leaf: the cluster issues its
 * serving certificates itself, from its server CA) are not listed, nor the
 * cluster CAs of a cluster that runs on CAs of its own: their expiry concerns nobody.
 */
export function certificateSummary(keys: KeySet, importedIngress?: KeyEntry, clusterCaInUse = true): Array<{ name: string; expiresAt: string; use: string }> {
  const cc = KEY_NAMES.clusterCa;
  const uses: Record<string, string> = {
    [KEY_NAMES.rootCa]: 'trust anchor clients are given (registry login, kubeconfig, the API)',
    [KEY_NAMES.intermediateCa]: 'issues the registry and ingress certificates',
    [KEY_NAMES.registry]: 'served by the pack registry',
    [importedIngress?.meta?.cert ? KEY_NAMES.ingress : KEY_NAMES.ingressFallback]: 'the ingress TLS Secret in palisade-system',
    ...(clusterCaInUse
      ? {
          [cc.server]: 'issues the API and kubelet serving certificates (on every controller)',
          [cc.client]: 'issues the cluster client certificates (the admin kubeconfig, kubelets, components)',
          [cc.requestHeader]: 'issues the API aggregation proxy client certificate',
          [cc.etcdPeer]: 'issues the datastore peer certificates',
          [cc.etcdServer]: 'issues the datastore client and server certificates',
        }
      : {}),
  };
  return sortedByExpiry(
    [...keys.entries, ...(importedIngress ? [importedIngress] : [])]
      .filter((e) => e.expiresAt && uses[e.name])
      .map((e) => ({ name: e.name, expiresAt: e.expiresAt!, use: uses[e.name]! })),
  );
}

export function sortedByExpiry<T extends { name: string; expiresAt: string }>(certs: readonly T[]): T[] {
  return [...certs].sort((a, b) => a.expiresAt.localeCompare(b.expiresAt) || a.name.localeCompare(b.name));
}

/** An endpoint is advertised only when the verify check that reaches it passed. */
export function answeredEndpoints(all: { api: string; registry: string; ingress: string }, verify: VerifyResult | undefined): InstallReport['endpoints'] {
  const passed = (prefix: string) => verify?.checks.some((c) => c.ok && c.name.startsWith(prefix)) ?? false;
  return {
    ...(passed('API ') ? { api: all.api } : {}),
    ...(passed('registry ') ? { registry: all.registry } : {}),
    ...(passed('ingress ') ? { ingress: all.ingress } : {}),
  };
}
