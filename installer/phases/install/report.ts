import { writeFileAtomic } from '../../core/atomic.ts';
import { buildInfo } from '../../core/build-info.ts';
import { stateFiles } from '../../state/paths.ts';
import type { Phase } from '../types.ts';
import type { InstallContext } from './context.ts';
import { BUNDLE, VERIFY_RESULT } from './outputs.ts';
import { apiHost, clusterCaFor } from './shared/cluster.ts';
import { answeredEndpoints, certificateSummary, renderSummary, type InstallReport } from './shared/report.ts';

/** Write the install report (JSON) and its summary: endpoints, certificate expiry, what to back up. */
export const reportPhase: Phase<InstallContext> = {
  id: 'report',
  title: 'Write the install report',
  readOnly: true,
  shouldRun: () => true,
  async run(ctx, task) {
    const keys = await ctx.keys.keySet();
    const files = stateFiles(ctx.stateDir);
    const t = ctx.topology;
    const bundle = task.outputs.maybe(BUNDLE);
    const clusterCa = await clusterCaFor(ctx, task.outputs);
    if (clusterCa.note) task.note(clusterCa.note);
    const r: InstallReport = {
      apiVersion: 'palisade/install-report-v1',
      cluster: ctx.config.cluster.name,
      fqdn: t.api.fqdn,
      generatedAt: new Date().toISOString(),
      bundle: bundle ? { name: bundle.manifest.name, version: bundle.manifest.version, path: ctx.bundlePath } : undefined,
      versions: { palisade: buildInfo().version, cluster: await ctx.driver.version(apiHost(ctx, task.outputs)).catch(() => undefined) },
      hosts: ctx.config.hosts.map((h) => ({ name: h.name, role: h.role, address: h.address })),
      endpoints: answeredEndpoints({ api: t.api.url, registry: t.registry.url, ingress: `https://${t.api.fqdn}` }, task.outputs.maybe(VERIFY_RESULT)),
      certificates: certificateSummary(keys, await ctx.keys.importedIngress(), !!clusterCa.ca),
      keystore: ctx.keystorePath,
      kubeconfig: files.kubeconfig,
      verify: task.outputs.maybe(VERIFY_RESULT),
      notes: [...task.notes()],
      backup: [`${ctx.keystorePath} (every secret; encrypted with the keystore passphrase)`, `${ctx.stateDir}/ (journal, kubeconfig, reports)`, ctx.configPath],
    };
    await task.change(undefined, `write ${files.report}`, async () => {
      await writeFileAtomic(files.report, JSON.stringify(r, null, 2) + '\n', { mode: 0o600, mkdirp: true });
      await writeFileAtomic(files.summary, renderSummary(r), { mode: 0o600, mkdirp: true });
    });
    task.output(files.report);
  },
};
