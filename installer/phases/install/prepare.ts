import { parseNotes, parseProbe, prepareProbe, prepareScript, type PrepareInput } from '../../cluster/prepare.ts';
import { PalisadeError } from '../../core/errors.ts';
import type { Phase } from '../types.ts';
import { allHosts, type InstallContext } from './context.ts';
import { hostOf } from './shared/hosts.ts';

/** Prepare each host for the cluster: sysctls, kernel modules, swap off, the FQDN in /etc/hosts. */
const prepareInput = (ctx: InstallContext): PrepareInput => ({ fqdn: ctx.config.cluster.fqdn, fqdnAddress: ctx.topology.api.address });

const WHAT: Record<string, (i: PrepareInput) => string> = {
  sysctl: () => 'write the sysctls',
  modules: () => 'load overlay and br_netfilter (now and at boot)',
  swap: () => 'turn swap off',
  hosts: (i) => `point ${i.fqdn} at ${i.fqdnAddress} in /etc/hosts`,
};

export const preparePhase: Phase<InstallContext> = {
  id: 'prepare',
  title: 'Prepare the hosts (sysctls, kernel modules, swap, FQDN in /etc/hosts)',
  perHost: allHosts,
  async shouldRun(ctx, i) {
    const r = await hostOf(i.outputs, i.host!).exec(prepareProbe(prepareInput(ctx)), { sudo: true });
    return parseProbe(r.stdout).length > 0;
  },
  async run(ctx, task, name) {
    const h = hostOf(task.outputs, name!);
    const input = prepareInput(ctx);
    const todo = parseProbe((await h.exec(prepareProbe(input), { sudo: true })).stdout);
    const what = todo.map((t) => WHAT[t]?.(input) ?? t).join(', ');
    const r = await task.change(name, what, () => h.exec(prepareScript(input), { sudo: true }));
    if (!r) return;
    if (r.code !== 0) throw new PalisadeError('install.prepare', `${name}: preparing the host failed (exit ${r.code}): ${r.stderr.trim().split('\n').pop() ?? ''}`);
    for (const n of parseNotes(r.stdout)) task.note(`${name}: ${n}`);
  },
};
