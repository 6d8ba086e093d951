import type { KeyObject } from 'node:crypto';
import { basename } from 'node:path';
import { openBundle, type Bundle } from '../bundle/open.ts';
import { verifyBundle } from '../bundle/verify.ts';
import type { ClusterDriver } from '../cluster/types.ts';
import type { PalisadeConfig } from '../config/schema.ts';
import { topology } from '../config/topology.ts';
import { buildInfo } from '../core/build-info.ts';
import { errorMessage } from '../core/errors.ts';
import { settleLimit } from '../core/limit.ts';
import { gatherHardeningState } from '../hardening/gather.ts';
import { BASELINE_RULES, RULES_VERSION } from '../hardening/rules/index.ts';
import type { HostState } from '../hardening/types.ts';
import { closeAll, connectHosts } from '../hosts/index.ts';
import type { RemoteHost } from '../hosts/types.ts';
import { stateDir } from '../state/paths.ts';
import { certificateFindings, clusterConfigFindings, ruleFindings } from './compliance.ts';
import { conformanceFindings } from './conformance.ts';
import { hostSbom, registrySbom } from './sbom.ts';
import { expectedPorts, portFindings, setidFindings, worldWritableFindings } from './security.ts';
import { listScans, saveScan, scanId } from './store.ts';
import { summarizeFindings, type Finding, type ScanResult, type ScanType } from './types.ts';
import { dbAge, matchPackages, parseVulnDbFiles, type VulnDb } from './vulndb.ts';

/**
 * `palisade scan run --type T`: connect, gather each host's state in one round
 * trip, run the type's checks, keep the result in the cluster's scan history.
 */
const VERSION = buildInfo().version;

export interface ScanOptions {
  config: PalisadeConfig;
  baseDir: string;
  type: ScanType;
  driver: ClusterDriver;
  /** the release bundle: its vulnerability database (security) and its image/pack list (sbom) */
  bundle?: { path: string; trustedKey: KeyObject };
  /** a vulnerability database older than this is stale (default 30 days) */
  maxDbAgeDays?: number;
  now?: () => Date;
}

async function readVulnDb(b: Bundle): Promise<VulnDb | undefined> {
  const names = [...b.files.keys()].filter((p) => p.startsWith('vulndb/'));
  if (names.length === 0) return undefined;
  return parseVulnDbFiles(await Promise.all(names.map(async (n) => ({ name: basename(n), text: (await b.read(n)).toString('utf8') }))));
}

const K3S_CONFIG = '/etc/rancher/k3s/config.yaml';
const API_CERT_PROBE = `cat ${K3S_CONFIG} 2>/dev/null; echo '@@@@ cert @@@@'; echo | timeout 10 openssl s_client -connect 127.0.0.1:6443 2>/dev/null | openssl x509 -noout -startdate -enddate 2>/dev/null`;

async function clusterSettings(h: RemoteHost, now: number): Promise<Finding[]> {
  const r = await h.exec(API_CERT_PROBE, { sudo: true, timeoutMs: 30_000 });
  const [config, cert = ''] = r.stdout.split('@@@@ cert @@@@');
  const nb = /notBefore=(.*)/.exec(cert)?.[1];
  const na = /notAfter=(.*)/.exec(cert)?.[1];
  return [
    ...clusterConfigFindings(h.name, config?.trim() ? config : undefined),
    ...certificateFindings(h.name, nb && na ? { notBefore: new Date(nb).toISOString(), notAfter: new Date(na).toISOString() } : undefined, now),
  ];
}

export async function runScan(o: ScanOptions): Promise<{ result: ScanResult; path: string }> {
  const now = o.now ?? (() => new Date());
  const started = now();
  const topo = topology(o.config);
  const notes: string[] = [];
  const findings: Finding[] = [];
  let vulndb: ScanResult['versions']['vulndb'];
  let documents: Record<string, unknown> | undefined;
  let bundle: Bundle | undefined;
  if (o.bundle && (o.type === 'security' || o.type === 'sbom')) {
    await verifyBundle(o.bundle.path, o.bundle.trustedKey);
    bundle = await openBundle(o.bundle.path);
  }
  const { hosts, failures } = await connectHosts(o.config, o.baseDir);
  try {
    for (const f of failures) {
      findings.push({ check: 'host.reachable', host: f.name, status: 'fail', detail: f.error.message });
      notes.push(`${f.name} was not scanned: ${f.error.message}`);
    }
    const states = new Map<string, HostState>();
    if (o.type !== 'conformance') {
      const got = await settleLimit([...hosts.keys()], o.config.ssh.concurrency, async (n) => gatherHardeningState(hosts.get(n)!, topo.host(n)!.user));
      got.forEach((g, i) => {
        const n = [...hosts.keys()][i]!;
        if (g.status === 'fulfilled') states.set(n, g.value);
        else findings.push({ check: 'host.probe', host: n, status: 'fail', detail: errorMessage(g.reason) });
      });
    }
    if (o.type === 'compliance') {
      for (const s of states.values()) findings.push(...ruleFindings(s, BASELINE_RULES, o.config.hardening.exceptions));
      for (const c of topo.controllers) {
        const h = hosts.get(c.name);
        if (h) findings.push(...(await clusterSettings(h, started.getTime())));
      }
    }
    if (o.type === 'security') {
      let db: VulnDb | undefined;
      try {
        db = bundle ? await readVulnDb(bundle) : undefined;
      } catch (e) {
        notes.push(`the vulnerability database cannot be read: ${errorMessage(e)}`);
      }
      if (!db) {
        findings.push({
          check: 'vulndb.present',
          host: '(cluster)',
          status: 'fail',
          title: 'a vulnerability database to match packages against',
          detail: bundle ? 'the bundle has no vulndb/' : 'no bundle given (--bundle): packages were not matched against vulnerability records',
        });
      } else {
        vulndb = dbAge(db, started.getTime(), o.maxDbAgeDays ?? 30);
        findings.push({
          check: 'vulndb.fresh',
          host: '(cluster)',
          title: 'the vulnerability database is recent',
          status: vulndb.stale ? 'fail' : 'pass',
          detail: `built ${vulndb.built}, ${vulndb.ageDays} days ago, ${vulndb.records} records${vulndb.stale ? `: STALE (older than ${o.maxDbAgeDays ?? 30} days), advisories after it are not known to this scan` : ''}`,
        });
        if (vulndb.stale) notes.push(`the vulnerability database is stale: built ${vulndb.built} (${vulndb.ageDays} days ago); get a newer bundle`);
      }
      for (const s of states.values()) {
        const hc = topo.host(s.host)!;
        findings.push(
          ...portFindings(s, expectedPorts(hc.role, { sshPort: hc.port, ...(topo.registry.host.name === s.host ? { registryPort: topo.registry.port } : {}) })),
        );
        findings.push(...setidFindings(s), ...worldWritableFindings(s));
        if (db) {
          const v = matchPackages(s.host, s.packages, db);
          findings.push(
            ...v,
            ...(v.length === 0
              ? [{ check: 'vuln', host: s.host, status: 'pass' as const, detail: `no installed package matches the ${db.records.length} records` }]
              : []),
          );
        }
      }
    }
    if (o.type === 'conformance') findings.push(...(await conformanceFindings(o.config, hosts, o.driver, topo.registry.url)));
    if (o.type === 'sbom') {
      documents = {};
      const meta = { timestamp: started.toISOString(), tool: { name: 'palisade', version: VERSION } };
      for (const s of states.values()) {
        documents[s.host] = hostSbom(s.host, s.os, s.packages, meta);
        findings.push({
          check: 'sbom.host',
          host: s.host,
          status: 'info',
          detail: `${(documents[s.host] as { components: unknown[] }).components.length} packages`,
        });
      }
      if (bundle) {
        documents.registry = registrySbom(topo.registry.endpoint, bundle.manifest, meta);
        findings.push({
          check: 'sbom.registry',
          host: '(cluster)',
          status: 'info',
          detail: `${(documents.registry as { components: unknown[] }).components.length} images and packs from ${bundle.manifest.name} ${bundle.manifest.version}`,
        });
      } else notes.push('no bundle given (--bundle): no SBOM for the registry contents');
    }
  } finally {
    await closeAll(hosts);
    await bundle?.close();
  }
  const dir = stateDir(o.baseDir, o.config.cluster.name);
  const taken = new Set((await listScans(dir)).map((s) => s.id));
  const result: ScanResult = {
    id: scanId(o.type, started, taken),
    type: o.type,
    cluster: o.config.cluster.name,
    startedAt: started.toISOString(),
    finishedAt: now().toISOString(),
    versions: { scanner: `palisade ${VERSION}`, rules: RULES_VERSION, ...(vulndb ? { vulndb } : {}) },
    hosts: o.config.hosts.map((h) => h.name),
    findings,
    summary: summarizeFindings(findings),
    notes,
    ...(documents ? { documents } : {}),
  };
  return { result, path: await saveScan(dir, result) };
}
