import type { HostConfig, PalisadeConfig, Role } from '../config/schema.ts';
import { API_PORT, topology } from '../config/topology.ts';
import { renderTable } from '../core/output.ts';
import { summarizeFacts } from '../facts/summary.ts';
import type { HostFacts } from '../facts/types.ts';
import { HOST_CHECKS, adminFqdnFinding, airGapFinding, timeSync, type HostCheck, type HostCheckContext } from './checks.ts';
import type { ApplianceOwned } from './appliance.ts';
import { clusterChecks } from './cluster.ts';
import { sizingFor } from './profiles.ts';
import { CLUSTER, type Finding, type HostInput, type ReportedFinding } from './types.ts';

/**
 * `palisade preflight --output json` prints exactly this document (README
 * "Preflight JSON"). Additive changes keep apiVersion; others bump it.
 */
export interface PreflightReport {
  apiVersion: 'palisade/preflight-v1';
  cluster: string;
  profile: PalisadeConfig['sizing']['profile'];
  airGapped: boolean;
  /** true for `--local`: the machine palisade runs on, checked as a controller */
  local: boolean;
  startedAt: string;
  durationMs: number;
  hosts: Array<{
    name: string;
    role: Role | 'admin';
    address: string;
    reachable: boolean;
    error?: { code: string; message: string; hint?: string };
    /** summarizeFacts line */
    summary?: string;
    /** SSH round trips used to gather facts (1 per reachable host) */
    roundTrips: number;
    notes: string[];
  }>;
  findings: ReportedFinding[];
  summary: { pass: number; warn: number; fail: number; waived: number; ok: boolean };
}

export const ADMIN = '(admin)';

export function requiredPorts(config: PalisadeConfig, host: Pick<HostConfig, 'name' | 'role'>): number[] {
  const registryHost = topology(config).registry.host.name;
  const ports = host.role === 'controller' ? [API_PORT, 2379, 2380, 10250, 443] : [10250, 443];
  if (host.name === registryHost && !ports.includes(config.registry.port)) ports.push(config.registry.port);
  return ports;
}

export function fqdnTargets(config: PalisadeConfig, inputs: HostInput[]): string[] {
  const out = new Set<string>();
  // the VIP and every controller in the config, also those not checked in this run (--host)
  for (const a of topology(config).api.endpoints) out.add(a);
  for (const h of inputs.filter((x) => x.config.role === 'controller')) {
    out.add(h.config.address);
    for (const n of h.facts?.nics ?? []) if (!n.loopback) for (const a of n.addresses) if (a.scope !== 'link') out.add(a.address);
  }
  return [...out];
}

/** A waiver is `id` (every host) or `id@host`. */
export function isWaived(ignore: readonly string[], f: Pick<Finding, 'id' | 'host'>): boolean {
  return ignore.some((w) => w === f.id || w === `${f.id}@${f.host}`);
}

export function applyWaivers(findings: Finding[], ignore: readonly string[]): ReportedFinding[] {
  return findings.map((f) => (isWaived(ignore, f) ? { ...f, status: 'waived' as const, waivedStatus: f.status } : f));
}

const LOCAL_SKIP = new Set(['disk.present', 'disk.unmounted', 'disk.empty', 'disk.size', 'disk.latency', 'time.skew', 'ports.free']);

export interface EvaluateInput {
  config: PalisadeConfig;
  hosts: HostInput[];
  /** the admin machine's facts (clock reference, its own air gap) */
  admin?: HostFacts;
  /** check the admin machine as a controller instead of the hosts */
  local?: boolean;
  /** waivers beyond config.preflight.ignore (--ignore) */
  ignore?: string[];
  startedAt?: Date;
  /** what an installed appliance owns, per host (applianceOwnership) */
  owned?: Record<string, ApplianceOwned>;
}

/** Pure: facts in, report out. */
export function evaluate(input: EvaluateInput): PreflightReport {
  const { config } = input;
  const started = input.startedAt ?? new Date();
  const sizing = sizingFor(config);
  const findings: Finding[] = [];
  const hostsOut: PreflightReport['hosts'] = [];
  const targets = fqdnTargets(config, input.hosts);
  if (input.local)
    targets.push(
      ...fqdnTargets(config, [
        { config: { ...config.hosts[0]!, name: ADMIN, role: 'controller', address: '127.0.0.1' }, ...(input.admin ? { facts: input.admin } : {}) },
      ]),
    );

  const runHost = (host: HostCheckContext['host'], facts: HostFacts, checks: HostCheck[], skip?: Set<string>) => {
    const owned = input.owned?.[host.name];
    const ctx: HostCheckContext = {
      config,
      host,
      facts,
      sizing: sizing[host.role],
      ...(input.admin ? { admin: input.admin } : {}),
      ports: requiredPorts(config, host),
      fqdnTargets: targets,
      ...(owned ? { owned } : {}),
    };
    for (const check of checks) {
      const r = check(ctx);
      if (r && !skip?.has(r.id)) findings.push(r);
    }
  };

  if (input.local) {
    const a = input.admin;
    if (a) {
      hostsOut.push({ name: ADMIN, role: 'admin', address: 'localhost', reachable: true, summary: summarizeFacts(a), roundTrips: 0, notes: a.notes });
      runHost({ name: ADMIN, role: 'controller', address: 'localhost' }, a, HOST_CHECKS, LOCAL_SKIP);
    }
  } else {
    for (const h of input.hosts) {
      hostsOut.push({
        name: h.config.name,
        role: h.config.role,
        address: h.config.address,
        reachable: !!h.facts,
        ...(h.error ? { error: h.error } : {}),
        ...(h.facts ? { summary: summarizeFacts(h.facts) } : {}),
        roundTrips: h.facts ? 1 : 0,
        notes: h.facts?.notes ?? [],
      });
      if (!h.facts) {
        findings.push({
          id: 'host.reachable',
          host: h.config.name,
          title: 'reachable',
          status: 'fail',
          measured: h.error ? `${h.error.code}: ${h.error.message}` : 'no facts',
          required: 'SSH login and the facts probe succeed',
          fix: h.error?.hint ?? hintFor(h.error?.code),
        });
        continue;
      }
      findings.push({
        id: 'host.reachable',
        host: h.config.name,
        title: 'reachable',
        status: 'pass',
        measured: `facts in 1 round trip`,
        required: 'SSH login and the facts probe succeed',
      });
      runHost(h.config, h.facts, HOST_CHECKS);
    }
    findings.push(...clusterChecks(input.hosts));
    if (input.admin) {
      hostsOut.push({
        name: ADMIN,
        role: 'admin',
        address: 'localhost',
        reachable: true,
        summary: summarizeFacts(input.admin),
        roundTrips: 0,
        notes: input.admin.notes,
      });
      // the site's air gap includes the machine palisade runs on
      findings.push(airGapFinding(config, ADMIN, input.admin));
      // the kubeconfig names the FQDN: does this machine resolve it?
      findings.push(adminFqdnFinding(ADMIN, input.admin, targets, API_PORT));
      // the admin clock is the skew reference: unsynchronised, every skew figure is relative to a drifting clock
      const ts = timeSync({
        config,
        host: { name: ADMIN, role: 'controller', address: 'localhost' },
        facts: input.admin,
        sizing: sizing.controller,
        ports: [],
        fqdnTargets: targets,
      });
      if (ts) findings.push(ts.status === 'fail' ? { ...ts, status: 'warn' } : ts);
    }
  }

  const ignore = [...config.preflight.ignore, ...(input.ignore ?? [])];
  const reported = applyWaivers(findings, ignore);
  const count = (s: ReportedFinding['status']) => reported.filter((f) => f.status === s).length;
  return {
    apiVersion: 'palisade/preflight-v1',
    cluster: config.cluster.name,
    profile: config.sizing.profile,
    airGapped: config.airGapped,
    local: !!input.local,
    startedAt: started.toISOString(),
    durationMs: Date.now() - started.getTime(),
    hosts: hostsOut,
    findings: reported,
    summary: { pass: count('pass'), warn: count('warn'), fail: count('fail'), waived: count('waived'), ok: count('fail') === 0 },
  };
}

function hintFor(code: string | undefined): string {
  if (!code) return 'check the host is up and reachable over SSH';
  if (code.includes('hostkey') || code.includes('host-key')) return 'the host key changed or is not pinned: verify it, then `palisade hosts trust`';
  if (code.includes('auth')) return 'check hosts[].user and privateKey (or ssh-agent), and that the key is in authorized_keys';
  if (code.includes('timeout')) return 'check the address, routing and firewall (port 22), and that the host is powered on';
  if (code.includes('refused')) return 'sshd is not listening: start it, or correct hosts[].port';
  if (code.includes('sudo')) return 'the SSH user needs passwordless sudo';
  return 'check the host is up and reachable over SSH';
}

const STATUS = { pass: 'ok', warn: 'WARN', fail: 'FAIL', waived: 'waived' } as const;

/** The operator's view: a header line per host, one table grouped by host, fixes, a summary line. */
export function renderReport(r: PreflightReport): string {
  const lines: string[] = [];
  for (const h of r.hosts) lines.push(h.reachable ? (h.summary ?? h.name) : `${h.name}: UNREACHABLE (${h.error?.message ?? 'no facts'})`);
  lines.push('');
  const order = [...r.hosts.map((h) => h.name), CLUSTER];
  const rows: string[][] = [];
  for (const host of order) {
    const fs = r.findings.filter((f) => f.host === host);
    fs.forEach((f, i) => {
      rows.push([
        i === 0 ? host : '',
        f.id,
        f.status === 'waived' ? `waived (${STATUS[f.waivedStatus ?? 'pass']})` : STATUS[f.status],
        f.measured,
        f.required,
        f.status === 'pass' ? '' : (f.fix ?? ''),
      ]);
    });
  }
  const cap = (t: string, n: number) => (t.length > n ? `${t.slice(0, n - 1)}…` : t);
  lines.push(
    renderTable(
      ['HOST', 'CHECK', 'STATUS', 'MEASURED', 'REQUIRED', 'FIX'],
      rows.map((r) => r.map((c, i) => (i === 3 || i === 4 ? cap(c, 64) : c))),
    ),
  );
  const notes = r.hosts.flatMap((h) => h.notes.map((n) => `${h.name}: ${n}`));
  if (notes.length) lines.push('', 'not measured:', ...notes.map((n) => `  ${n}`));
  const s = r.summary;
  lines.push(
    '',
    `${s.ok ? 'PASSED' : 'FAILED'}: ${s.fail} failed, ${s.warn} warnings, ${s.pass} passed, ${s.waived} waived; ${r.hosts.filter((h) => h.role !== 'admin').length} hosts, profile ${r.profile}, ${(r.durationMs / 1000).toFixed(1)} s`,
  );
  return lines.join('\n');
}
