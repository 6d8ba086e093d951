import type { PalisadeConfig } from '../config/schema.ts';
import { errorMessage } from '../core/errors.ts';
import { settleLimit } from '../core/limit.ts';
import { closeAll, configConnectOptions, configTargets, connectHost, connectHosts } from '../hosts/index.ts';
import type { RemoteHost } from '../hosts/types.ts';
import { applyHostPlan } from './apply.ts';
import { outcomesBefore, planHost } from './evaluate.ts';
import { gatherHardeningState } from './gather.ts';
import { BASELINE_RULES, RULES_VERSION } from './rules/index.ts';
import type { HardeningException, HostState, OutcomeStatus, Rule, RuleOutcome } from './types.ts';

/**
 * `palisade harden` and the harden phase: per host, gather (one round trip),
 * check every rule, apply the fixes of the failing ones, gather again and
 * check again, so "fixed" means the host now passes, not that a command ran.
 */
export interface HostHardening {
  host: string;
  container: string;
  outcomes: RuleOutcome[];
  /** what was changed, one line per change */
  changes: string[];
  /** the host could not be worked on at all */
  error?: string;
}

export interface HardenReport {
  profile: 'baseline' | 'none';
  rulesVersion: string;
  dryRun: boolean;
  hosts: HostHardening[];
  summary: Record<OutcomeStatus, number>;
  /** no rule failed and every host was reached */
  ok: boolean;
}

export interface HardenOptions {
  config: PalisadeConfig;
  baseDir: string;
  only?: string[];
  dryRun?: boolean;
  /** connections already open (the install phase); otherwise palisade connects and closes */
  hosts?: Map<string, RemoteHost>;
  /** the rule set (default: the baseline profile's) */
  rules?: readonly Rule[];
  /** how a fresh login is proven (default: a new SSH connection as palisade makes them) */
  proveLogin?: (host: string) => Promise<void>;
  onHost?: (host: string, line: string) => void;
}

/** Every rule's outcome on one host whose state was read. */
export async function hardenHost(
  host: RemoteHost,
  loginUser: string,
  o: { rules: readonly Rule[]; exceptions: readonly HardeningException[]; dryRun: boolean; proveLogin: () => Promise<void>; onChange?: (l: string) => void },
): Promise<HostHardening & { state: HostState }> {
  const before = await gatherHardeningState(host, loginUser);
  const plan = planHost(before, o.rules, o.exceptions);
  const first = outcomesBefore(plan, { dryRun: o.dryRun });
  if (o.dryRun || plan.fixes.length === 0) return { host: host.name, container: before.container, outcomes: first, changes: [], state: before };
  const changes: string[] = [];
  const failed = await applyHostPlan(host, before, plan, {
    proveLogin: o.proveLogin,
    onChange: (l) => {
      changes.push(l);
      o.onChange?.(l);
    },
  });
  const after = await gatherHardeningState(host, loginUser);
  const recheck = planHost(after, o.rules, o.exceptions);
  const outcomes = first.map((out, i): RuleOutcome => {
    if (out.status !== 'failed') return out;
    const now = recheck.evaluations[i]!.result;
    if (now.status === 'pass') return { ...out, status: 'fixed', detail: `${out.detail} -> ${now.detail}` };
    return { ...out, status: 'failed', detail: now.detail, reason: failed.get(out.rule) ?? 'the fix ran, but the check still fails' };
  });
  return { host: host.name, container: after.container, outcomes, changes, state: after };
}

export function summarize(hosts: readonly HostHardening[]): Record<OutcomeStatus, number> {
  const s: Record<OutcomeStatus, number> = { right: 0, fixed: 0, 'would-fix': 0, 'not-applicable': 0, excepted: 0, manual: 0, failed: 0 };
  for (const h of hosts) for (const x of h.outcomes) s[x.status]++;
  return s;
}

/**
 * Proves a fresh key login to a host: a new SSH connection made as palisade
 * makes them (pinned key, the jump host for hosts behind it), one command, closed.
 */
export async function loginProver(config: PalisadeConfig, baseDir: string): Promise<(host: string) => Promise<void>> {
  const targets = new Map(configTargets(config, baseDir).map((t) => [t.name, t]));
  const connectOpts = await configConnectOptions(config, baseDir);
  return async (name: string) => {
    const fresh = await connectHost(targets.get(name)!, { ...connectOpts, attempts: 3 });
    try {
      await fresh.exec('true', { check: true, timeoutMs: 20_000 });
    } finally {
      await fresh.close();
    }
  };
}

export async function runHarden(o: HardenOptions): Promise<HardenReport> {
  const cfg = o.config.hardening;
  const dryRun = o.dryRun === true;
  const names = o.only?.length ? o.only : o.config.hosts.map((h) => h.name);
  if (cfg.profile === 'none') {
    return {
      profile: 'none',
      rulesVersion: RULES_VERSION,
      dryRun,
      hosts: names.map((h) => ({ host: h, container: 'unknown', outcomes: [], changes: [] })),
      summary: summarize([]),
      ok: true,
    };
  }
  const own = !o.hosts;
  const conn = o.hosts ? { hosts: o.hosts, failures: [] as { name: string; error: Error }[] } : await connectHosts(o.config, o.baseDir, { only: names });
  const targets = new Map(configTargets(o.config, o.baseDir).map((t) => [t.name, t]));
  const prove = o.proveLogin ?? (await loginProver(o.config, o.baseDir));
  try {
    const results = await settleLimit(names, o.config.ssh.concurrency, async (name) => {
      const h = conn.hosts.get(name);
      if (!h) throw conn.failures.find((f) => f.name === name)?.error ?? new Error('not connected');
      return hardenHost(h, targets.get(name)!.user, {
        rules: o.rules ?? BASELINE_RULES,
        exceptions: cfg.exceptions,
        dryRun,
        proveLogin: () => prove(name),
        onChange: (l) => o.onHost?.(name, l),
      });
    });
    const hosts: HostHardening[] = results.map((r, i) =>
      r.status === 'fulfilled'
        ? (({ state: _s, ...rest }) => rest)(r.value)
        : { host: names[i]!, container: 'unknown', outcomes: [], changes: [], error: errorMessage(r.reason) },
    );
    const summary = summarize(hosts);
    return { profile: 'baseline', rulesVersion: RULES_VERSION, dryRun, hosts, summary, ok: summary.failed === 0 && hosts.every((h) => !h.error) };
  } finally {
    if (own) await closeAll(conn.hosts);
  }
}
