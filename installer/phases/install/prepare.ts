import { parseNotes, parseProbe, prepareFiles, prepareProbe, prepareScript, type PrepareInput, type PrepareItem } from '../../cluster/prepare.ts';
import { PalisadeError } from '../../core/errors.ts';
import { filesToWrite, syncFiles } from '../../hosts/files.ts';
import type { RemoteHost } from '../../hosts/types.ts';
import type { Phase } from '../types.ts';
import { allHosts, type InstallContext } from './context.ts';
import { hostOf } from './shared/hosts.ts';

/**
 * Prepare each host for the cluster: the sysctl and modules-load files through
 * the desired-files helper (only what differs is uploaded, with its mode), then
 * what must happen now: sysctls applied, modules loaded, swap off, the FQDN in
 * /etc/hosts.
 */
const prepareInput = (ctx: InstallContext): PrepareInput => ({ fqdn: ctx.config.cluster.fqdn, fqdnAddress: ctx.topology.api.address });

const WHAT: Record<PrepareItem, (i: PrepareInput) => string> = {
  sysctl: () => 'apply the sysctls',
  modules: () => 'load overlay and br_netfilter',
  swap: () => 'turn swap off',
  hosts: (i) => `point ${i.fqdn} at ${i.fqdnAddress} in /etc/hosts`,
};

/** The files that differ on the host and every item not in place (a file that differs is its item's work too). */
async function work(h: RemoteHost, input: PrepareInput): Promise<{ files: ReturnType<typeof prepareFiles>; items: PrepareItem[] }> {
  const wanted = prepareFiles();
  const differ = new Set((await filesToWrite(h, wanted)).map((f) => f.path));
  const files = wanted.filter((f) => differ.has(f.path));
  const probed = parseProbe((await h.exec(prepareProbe(input), { sudo: true })).stdout).filter((t): t is PrepareItem => t in WHAT);
  return { files, items: [...files.map((f) => f.item), ...probed] };
}

export const preparePhase: Phase<InstallContext> = {
  id: 'prepare',
  title: 'Prepare the hosts (sysctls, kernel modules, swap, FQDN in /etc/hosts)',
  perHost: allHosts,
  async shouldRun(ctx, i) {
    return (await work(hostOf(i.outputs, i.host!), prepareInput(ctx))).items.length > 0;
  },
  async run(ctx, task, name) {
    const h = hostOf(task.outputs, name!);
    const input = prepareInput(ctx);
    const { files, items } = await work(h, input);
    if (files.length) await task.change(name, `write ${files.map((f) => f.path).join(', ')}`, () => syncFiles(h, files));
    if (!items.length) return;
    const r = await task.change(name, items.map((t) => WHAT[t](input)).join(', '), () => h.exec(prepareScript(input, items), { sudo: true }));
    if (!r) return;
    if (r.code !== 0)
      throw new PalisadeError('install.prepare', `${name}: preparing the host failed (exit ${r.code}): ${r.stderr.trim().split('\n').pop() ?? ''}`);
    for (const n of parseNotes(r.stdout)) task.note(`${name}: ${n}`);
  },
};
