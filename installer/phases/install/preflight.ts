import { PalisadeError } from '../../core/errors.ts';
import { gatherFacts } from '../../facts/index.ts';
import { localFacts } from '../../facts/local.ts';
import type { HostFacts } from '../../facts/types.ts';
import { evaluate } from '../../preflight/report.ts';
import { readCheckedHosts, writeCheckedHosts } from '../../state/checked-hosts.ts';
import { stateFiles } from '../../state/paths.ts';
import type { Phase } from '../types.ts';
import { allHosts, type InstallContext } from './context.ts';
import { FACTS, MACHINE_IDS, PREFLIGHT_TARGETS } from './outputs.ts';
import { hostOf } from './shared/hosts.ts';

/**
 * Check the hosts against the sizing profile before anything changes. Once
 * preflight has passed only new or replaced hosts are checked: the others now
 * hold the appliance's own ports and encrypted disks, which preflight would
 * call taken. The hosts it passed on are recorded, so a failed re-check of one
 * host does not put the others back in.
 */
export const preflightPhase: Phase<InstallContext> = {
  id: 'preflight',
  title: 'Preflight checks',
  readOnly: true,
  shouldRun: (ctx, i) => (i.outputs.maybe(PREFLIGHT_TARGETS) ?? allHosts(ctx)).length > 0,
  async run(ctx, task) {
    const names = task.outputs.maybe(PREFLIGHT_TARGETS) ?? allHosts(ctx);
    const firstRun = names.length === ctx.config.hosts.length;
    const targets = ctx.config.hosts.filter((h) => names.includes(h.name));
    const gathered = task.outputs.ofHosts(FACTS);
    const facts = new Map<string, HostFacts>();
    for (const h of targets) {
      facts.set(
        h.name,
        gathered.get(h.name) ??
          (await gatherFacts(hostOf(task.outputs, h.name), { fqdn: ctx.config.cluster.fqdn, ...(h.dataDisk ? { dataDisk: h.dataDisk } : {}) })),
      );
    }
    const admin = await localFacts({ fqdn: ctx.config.cluster.fqdn }).catch(() => undefined);
    const r = evaluate({
      config: ctx.config,
      hosts: targets.map((h) => ({ config: h, facts: facts.get(h.name)! })),
      ...(admin ? { admin } : {}),
      ignore: ctx.config.preflight.ignore,
    });
    const fails = r.findings.filter((f) => f.status === 'fail');
    if (fails.length) {
      throw new PalisadeError('install.preflight', `preflight: ${fails.length} check(s) failed; nothing was changed`, {
        details: fails.map((f) => ({
          path: `${f.host} ${f.id}`,
          message: `${f.title}: ${f.measured} (needs ${f.required})`,
          ...(f.fix ? { hint: f.fix } : {}),
        })),
        hint: 'fix each failure (or waive it in preflight.ignore with a reason), then run the install again; `palisade preflight` shows the full table',
      });
    }
    const ids = task.outputs.maybe(MACHINE_IDS);
    if (ids) {
      const file = stateFiles(ctx.stateDir).checkedHosts;
      await task.change(undefined, `record the hosts preflight passed on in ${file}`, async () => {
        const checked = (await readCheckedHosts(file)) ?? {};
        for (const h of targets) {
          const id = ids.get(h.name);
          if (id) checked[h.name] = id;
        }
        await writeCheckedHosts(file, checked);
      });
    }
    task.output(
      `${r.summary.pass} passed, ${r.summary.warn} warnings, ${r.summary.waived} waived${firstRun ? '' : ` (new or replaced: ${targets.map((h) => h.name).join(', ')})`}`,
    );
  },
};
