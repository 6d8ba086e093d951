import { readFile } from 'node:fs/promises';
import type { ClusterDriver } from '../cluster/types.ts';
import type { LoadedConfig } from '../config/load.ts';
import { errorMessage } from '../core/errors.ts';
import { settleLimit } from '../core/limit.ts';
import { sh } from '../core/quote.ts';
import type { RemoteHost } from '../hosts/types.ts';
import { unitName } from '../cluster/k3s-render.ts';
import { Journal, type JournalData } from '../state/journal.ts';
import { stateDir, stateFiles } from '../state/paths.ts';
import { topology } from '../config/topology.ts';
import { sortedByExpiry, type InstallReport } from './install/shared/report.ts';
import { REGISTRY_SERVICE } from '../registry/service.ts';

/** `palisade status`: the journal, the install report (endpoints, certificate expiry) and the live hosts. */
export interface StatusReport {
  cluster: string;
  journal: { lastRun?: JournalData['runs'][number]; phases: Array<{ id: string; status: string; finishedAt?: string; error?: string }> } | undefined;
  report: Pick<InstallReport, 'endpoints' | 'certificates' | 'versions' | 'bundle' | 'keystore' | 'kubeconfig'> | undefined;
  hosts: Array<{ name: string; role: string; reachable: boolean; service?: string; version?: string; ready?: boolean; registry?: string; error?: string }>;
  /** certificates that expire within 30 days (or have), soonest first */
  warnings: string[];
  ok: boolean;
}

export async function clusterStatus(o: {
  loaded: LoadedConfig;
  driver: ClusterDriver;
  connect: (c: LoadedConfig['config'], baseDir: string) => Promise<{ hosts: Map<string, RemoteHost>; failures: { name: string; error: Error }[] }>;
}): Promise<StatusReport> {
  const { config, baseDir } = o.loaded;
  const files = stateFiles(stateDir(baseDir, config.cluster.name));
  const j = await Journal.read(files.journal);
  let report: InstallReport | undefined;
  try {
    report = JSON.parse(await readFile(files.report, 'utf8')) as InstallReport;
  } catch {
    report = undefined;
  }
  const { hosts, failures } = await o.connect(config, baseDir);
  try {
    const api = hosts.get(topology(config).firstController.name);
    const nodes = api ? await o.driver.get(api, 'nodes').catch(() => undefined) : undefined;
    const regHost = topology(config).registry.host.name;
    const rows = await settleLimit(topology(config).nodes, config.ssh.concurrency, async (n): Promise<StatusReport['hosts'][number]> => {
      const h = hosts.get(n.name);
      const role = config.hosts.find((x) => x.name === n.name)!.role;
      if (!h) return { name: n.name, role, reachable: false, error: failures.find((f) => f.name === n.name)?.error.message ?? 'not connected' };
      const st = await h.exec(sh`systemctl is-active ${unitName(n.role)}; systemctl is-active ${REGISTRY_SERVICE}`, { sudo: true });
      const [svc, reg] = st.stdout.trim().split('\n');
      const node = nodes?.items?.find((x) => x.metadata.name === n.name);
      return {
        name: n.name,
        role,
        reachable: true,
        service: svc?.trim() ?? 'unknown',
        version: await o.driver.version(h).catch(() => undefined),
        ready: node?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
        ...(n.name === regHost ? { registry: reg?.trim() ?? 'unknown' } : {}),
      };
    });
    const hostsOut: StatusReport['hosts'] = rows.map((r, i) =>
      r.status === 'fulfilled' ? r.value : { name: topology(config).nodes[i]!.name, role: '?', reachable: true, error: errorMessage(r.reason) },
    );
    const phases = j
      ? Object.entries(j.phases).map(([id, p]) => ({
          id,
          status: p.status,
          ...(p.finishedAt ? { finishedAt: p.finishedAt } : {}),
          ...(p.error ? { error: p.error } : {}),
        }))
      : [];
    const lastRun = j?.runs[j.runs.length - 1];
    return {
      cluster: config.cluster.name,
      journal: j ? { ...(lastRun ? { lastRun } : {}), phases } : undefined,
      report: report
        ? {
            endpoints: report.endpoints,
            certificates: report.certificates,
            versions: report.versions,
            bundle: report.bundle,
            keystore: report.keystore,
            kubeconfig: report.kubeconfig,
          }
        : undefined,
      hosts: hostsOut,
      warnings: expiryWarnings(report?.certificates ?? []),
      ok: hostsOut.every((h) => h.reachable && h.service === 'active' && h.ready && (h.registry === undefined || h.registry === 'active')),
    };
  } finally {
    await Promise.all([...hosts.values()].map((h) => h.close().catch(() => undefined)));
  }
}

/** Days within which an expiring certificate is a warning. */
export const EXPIRY_WARN_DAYS = 30;

export function expiryWarnings(certs: ReadonlyArray<{ name: string; expiresAt: string }>, now = new Date()): string[] {
  return sortedByExpiry(certs).flatMap((c) => {
    const days = Math.floor((Date.parse(c.expiresAt) - now.getTime()) / 86_400_000);
    if (days > EXPIRY_WARN_DAYS) return [];
    return [
      days < 0
        ? `${c.name} EXPIRED on ${c.expiresAt.slice(0, 10)}: renew it (palisade keys rotate ${c.name})`
        : `${c.name} expires in ${days} days (${c.expiresAt.slice(0, 10)}): renew it (palisade keys rotate ${c.name})`,
    ];
  });
}

/** Every certificate in use, soonest expiry first; those within 30 days (or past) marked. */
export function renderCertificates(
  certs: ReadonlyArray<{ name: string; expiresAt: string; use?: string }>,
  renderTable: (h: string[], rows: string[][]) => string,
  now = new Date(),
): string {
  const rows = sortedByExpiry(certs).map((c) => {
    const days = Math.floor((Date.parse(c.expiresAt) - now.getTime()) / 86_400_000);
    const state = days < 0 ? 'EXPIRED' : days <= EXPIRY_WARN_DAYS ? `WARNING: ${days} days left` : `${days} days left`;
    return [c.name, c.expiresAt.slice(0, 10), state, c.use ?? ''];
  });
  return renderTable(['CERTIFICATE', 'EXPIRES', '', 'USED FOR'], rows);
}

export function renderStatus(s: StatusReport, renderTable: (h: string[], rows: string[][]) => string): string {
  const out: string[] = [`cluster ${s.cluster}: ${s.ok ? 'healthy' : 'NOT healthy'}`];
  if (s.journal?.lastRun) out.push(`last run: ${s.journal.lastRun.command} ${s.journal.lastRun.status} (${s.journal.lastRun.startedAt})`);
  const notDone = s.journal?.phases.filter((p) => p.status !== 'done') ?? [];
  if (notDone.length) out.push(`unfinished phases: ${notDone.map((p) => `${p.id} (${p.status}${p.error ? `: ${p.error}` : ''})`).join(', ')}`);
  out.push(
    renderTable(
      ['HOST', 'ROLE', 'REACHABLE', 'SERVICE', 'READY', 'VERSION', 'REGISTRY'],
      s.hosts.map((h) => [
        h.name,
        h.role,
        h.reachable ? 'yes' : `no (${h.error ?? ''})`,
        h.service ?? '-',
        h.ready ? 'yes' : 'no',
        h.version ?? '-',
        h.registry ?? '',
      ]),
    ),
  );
  if (s.report) {
    const e = s.report.endpoints;
    out.push(
      [
        e.api ? `API ${e.api}` : 'API did not answer at install',
        e.registry ? `registry ${e.registry}` : 'registry did not answer at install',
        ...(e.ingress ? [`ingress ${e.ingress}`] : []),
      ].join('; '),
    );
    out.push(renderCertificates(s.report.certificates, renderTable));
    out.push(`keystore ${s.report.keystore}; kubeconfig ${s.report.kubeconfig}`);
  } else out.push('no install report yet (run `palisade install`)');
  for (const w of s.warnings) out.push(`WARNING: ${w}`);
  return out.join('\n') + '\n';
}
