import type { CheckResult, Fix, HardeningException, HostState, Rule, RuleOutcome } from './types.ts';

/**
 * From a host's state to what a run must do there: each rule checked, an
 * exception from palisade.yaml honoured (with its reason), and the fixes of the
 * failing rules collected with the rule they belong to. Pure.
 */
export interface Evaluation {
  rule: Rule;
  result: CheckResult;
  exception?: HardeningException;
}

export interface HostPlan {
  host: string;
  evaluations: Evaluation[];
  /** fixes to apply, each with the rule that asked for it */
  fixes: Array<{ rule: string; fix: Fix }>;
}

export function exceptionFor(exceptions: readonly HardeningException[], rule: string, host: string): HardeningException | undefined {
  return exceptions.find((e) => e.rule === rule && (!e.hosts || e.hosts.length === 0 || e.hosts.includes(host)));
}

export function planHost(state: HostState, rules: readonly Rule[], exceptions: readonly HardeningException[]): HostPlan {
  const evaluations: Evaluation[] = rules.map((rule) => {
    const exception = exceptionFor(exceptions, rule.id, state.host);
    let result: CheckResult;
    try {
      result = rule.check(state);
    } catch (e) {
      result = { status: 'fail', detail: `the check could not read the host state: ${(e as Error).message}`, manual: true };
    }
    return { rule, result, ...(exception ? { exception } : {}) };
  });
  const fixes = evaluations.flatMap((e) =>
    e.exception || e.result.status !== 'fail' || e.result.manual ? [] : (e.result.fixes ?? []).map((fix) => ({ rule: e.rule.id, fix })),
  );
  return { host: state.host, evaluations, fixes };
}

/** Outcomes of a plan when nothing is (or was) changed: a dry run, or the first half of a real one. */
export function outcomesBefore(plan: HostPlan, o: { dryRun: boolean }): RuleOutcome[] {
  return plan.evaluations.map(({ rule, result, exception }) => {
    const base = { host: plan.host, rule: rule.id, title: rule.title, ...(rule.cis ? { cis: rule.cis } : {}), detail: result.detail };
    if (exception) return { ...base, status: 'excepted', reason: exception.reason };
    if (result.status === 'pass') return { ...base, status: 'right' };
    if (result.status === 'na') return { ...base, status: 'not-applicable' };
    if (result.manual || !result.fixes?.length) return { ...base, status: 'manual' };
    return {
      ...base,
      status: o.dryRun ? 'would-fix' : 'failed',
      ...(o.dryRun ? { detail: `${result.detail} -> ${describeFixes(result.fixes).join('; ')}` } : {}),
    };
  });
}

/** The sentence a dry run prints for each fix. */
export function describeFixes(fixes: readonly Fix[]): string[] {
  return fixes.map((f) => {
    switch (f.kind) {
      case 'sshd':
        return `sshd: ${Object.entries(f.directives)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}${
          f.forLoginUser
            ? `${Object.keys(f.directives).length ? '; ' : ''}for palisade's user: ${Object.entries(f.forLoginUser)
                .map(([k, v]) => `${k} ${v}`)
                .join(', ')}`
            : ''
        }`;
      case 'sysctl':
        return `sysctl ${f.key} = ${f.value}`;
      case 'mode':
        return `chmod ${f.mode.toString(8).padStart(3, '0')}, chown ${f.owner}:${f.group} ${f.path}`;
      case 'file':
        return `write ${f.path}`;
      case 'logindefs':
        return `login.defs ${f.key} ${f.value}`;
      case 'modprobe':
        return `refuse the kernel module ${f.module}`;
      case 'mount':
        return `mount ${f.target} with ${f.options.join(',')} (remount, and in /etc/fstab)`;
      case 'purge':
        return `purge ${f.packages.join(', ')}`;
      case 'disable':
        return `disable and mask ${f.units.join(', ')}`;
    }
    // every kind is handled above (TypeScript checks this line is unreachable)
    return f satisfies never;
  });
}
