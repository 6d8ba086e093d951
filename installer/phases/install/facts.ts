import { gatherFacts } from '../../facts/index.ts';
import type { Phase } from '../types.ts';
import { allHosts, type InstallContext } from './context.ts';
import { FACTS, PREFLIGHT_TARGETS } from './outputs.ts';
import { hostOf } from './shared/hosts.ts';

/** Gather each host's facts (one probe) for preflight: on the hosts preflight will check. */
export const factsPhase: Phase<InstallContext> = {
  id: 'facts',
  title: 'Gather host facts',
  readOnly: true,
  perHost: allHosts,
  provides: [FACTS],
  // facts feed preflight, which gates the first install, and a host that is new or replaced since
  shouldRun: (ctx, i) => (i.outputs.maybe(PREFLIGHT_TARGETS) ?? allHosts(ctx)).includes(i.host!),
  async run(ctx, task, name) {
    const hc = ctx.topology.host(name!)!;
    const f = await gatherFacts(hostOf(task.outputs, name!), { fqdn: ctx.config.cluster.fqdn, ...(hc.dataDisk ? { dataDisk: hc.dataDisk } : {}) });
    task.provide(FACTS, f);
    task.output(`${f.name}: gathered`);
  },
};
