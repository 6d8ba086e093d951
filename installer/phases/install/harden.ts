import { PalisadeError } from '../../core/errors.ts';
import { planHost } from '../../hardening/evaluate.ts';
import { gatherHardeningState } from '../../hardening/gather.ts';
import { BASELINE_RULES } from '../../hardening/rules/index.ts';
import { hardenHost, loginProver } from '../../hardening/run.ts';
import type { Phase } from '../types.ts';
import { allHosts, type InstallContext } from './context.ts';
import { hostOf } from './shared/hosts.ts';

/**
 * Harden each host (hardening.profile baseline, the default): the rules' fixes
 * for what is not right, an SSH change kept only after a fresh key login works.
 * What it changed and what could not apply go into the journal's notes.
 * The upgrade runs the same phase after its host steps: a newer palisade
 * brings newer rules, and a host someone loosened by hand is put back.
 */
const userOf = (ctx: InstallContext, name: string) => ctx.config.hosts.find((h) => h.name === name)!.user;

export const hardenPhase: Phase<InstallContext> = {
  id: 'harden',
  title: 'Harden the hosts (SSH server, kernel parameters, file permissions, legacy packages)',
  perHost: (ctx) => (ctx.config.hardening.profile === 'none' ? [] : allHosts(ctx)),
  async shouldRun(ctx, i) {
    const state = await gatherHardeningState(hostOf(i.outputs, i.host!), userOf(ctx, i.host!));
    return planHost(state, BASELINE_RULES, ctx.config.hardening.exceptions).fixes.length > 0;
  },
  async run(ctx, task, name) {
    const h = hostOf(task.outputs, name!);
    const user = userOf(ctx, name!);
    const plan = planHost(await gatherHardeningState(h, user), BASELINE_RULES, ctx.config.hardening.exceptions);
    const rules = [...new Set(plan.fixes.map((f) => f.rule))];
    const prove = ctx.proveLogin ?? (await loginProver(ctx.config, ctx.baseDir));
    const r = await task.change(name, `harden: fix ${rules.join(', ')}`, () =>
      hardenHost(h, user, { rules: BASELINE_RULES, exceptions: ctx.config.hardening.exceptions, dryRun: false, proveLogin: () => prove(name!) }),
    );
    if (!r) return;
    const count = (s: string) => r.outcomes.filter((o) => o.status === s).length;
    task.note(
      `${name}: hardened: ${count('fixed')} fixed, ${count('right')} already right, ${count('not-applicable')} not applicable${r.container !== 'none' ? ` (a ${r.container} container: kernel parameters are the machine's)` : ''}, ${count('excepted')} excepted; IPv4 forwarding kept on for the pod network`,
    );
    for (const c of r.changes) task.note(`${name}: ${c}`);
    for (const o of r.outcomes.filter((x) => x.status === 'manual')) task.note(`${name}: look at ${o.rule}: ${o.detail}`);
    const failed = r.outcomes.filter((o) => o.status === 'failed');
    if (failed.length) {
      throw new PalisadeError(
        'install.harden',
        `${name}: ${failed.length} hardening rule(s) could not be fixed: ${failed.map((o) => `${o.rule} (${o.reason ?? o.detail})`).join('; ')}`,
        {
          hint: 'fix the host by hand, or add the rule to hardening.exceptions in palisade.yaml with the reason; `palisade harden --dry-run --host NAME` shows every rule',
        },
      );
    }
  },
};
