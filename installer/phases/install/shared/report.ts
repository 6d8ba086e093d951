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
  endpoints: { api: string; registry: string; ingress: string };
  certificates: Array<{ name: string; expiresAt: string }>;
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
    `  API         ${r.endpoints.api}`,
    `  registry    ${r.endpoints.registry}`,
    `  ingress     ${r.endpoints.ingress}`,
    `  kubeconfig  ${r.kubeconfig}`,
    `  keystore    ${r.keystore}`,
    `  certificates expire: ${r.certificates.map((c) => `${c.name} ${c.expiresAt.slice(0, 10)}`).join(', ')}`,
    ...(r.notes.length ? ['  notes:', ...r.notes.map((n) => `    - ${n.note}`)] : []),
    '  back up (offline, with the passphrase kept apart):',
    ...r.backup.map((b) => `    - ${b}`),
  ];
  return lines.join('\n') + '\n';
}

/** The CAs, the API, registry and ingress certificates, and the host certificate that expires first. */
export function certificateSummary(keys: KeySet): Array<{ name: string; expiresAt: string }> {
  const main = [KEY_NAMES.rootCa, KEY_NAMES.intermediateCa, KEY_NAMES.api, KEY_NAMES.registry, KEY_NAMES.ingress, KEY_NAMES.ingressFallback];
  const withExpiry = keys.entries.filter((e) => e.expiresAt);
  const firstHost = withExpiry.filter((e) => e.name.startsWith('tls/host/')).sort((a, b) => a.expiresAt!.localeCompare(b.expiresAt!))[0];
  return [...withExpiry.filter((e) => (main as readonly string[]).includes(e.name)), ...(firstHost ? [firstHost] : [])].map((e) => ({ name: e.name, expiresAt: e.expiresAt! }));
}
