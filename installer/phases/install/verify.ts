import { readFile } from 'node:fs/promises';
import { PalisadeError, errorMessage } from '../../core/errors.ts';
import { encryptionStatus } from '../../encryption/index.ts';
import { RegistryClient } from '../../registry/client.ts';
import { stateFiles } from '../../state/paths.ts';
import type { Outputs, Phase } from '../types.ts';
import type { InstallContext } from './context.ts';
import { DISKS_IN_PLACE, HOSTS, VERIFY_RESULT, type VerifyResult } from './outputs.ts';
import { apiReady, kubeconfigCreds } from '../../cluster/api.ts';
import { apiHost, clusterCaFor, manifestObjects, objectsOutOfPlace } from './shared/cluster.ts';
import { tunnelTo } from './shared/hosts.ts';
import { registryAccess } from './shared/registry.ts';

/** Check what an operator relies on: the API through the FQDN on every controller, nodes, registry, secrets, disks. */
export async function verifyInstall(ctx: InstallContext, outputs: Outputs): Promise<VerifyResult> {
  const checks: VerifyResult['checks'] = [];
  const add = async (name: string, fn: () => Promise<string>) => {
    try {
      checks.push({ name, ok: true, detail: await fn() });
    } catch (e) {
      checks.push({ name, ok: false, detail: errorMessage(e) });
    }
  };
  const { api, registry } = ctx.topology;
  const kc = kubeconfigCreds(await readFile(stateFiles(ctx.stateDir).kubeconfig, 'utf8'));
  // on palisade's CAs, each controller is checked as an operator's client checks it: the palisade root the only trust anchor
  const onPalisadeCa = !!(await clusterCaFor(ctx, outputs)).ca;
  const anchor = onPalisadeCa ? { ...kc, ca: (await ctx.keys.keySet()).rootCa.certPem } : kc;
  const apiCheck = async (c: { name: string; address: string }) =>
    `${await apiReady(c.address, api.fqdn, anchor, tunnelTo(ctx, outputs, c.name).connect, api.port)}${onPalisadeCa ? ' (certificate chains to the palisade root)' : ''}`;
  await Promise.all(ctx.topology.controllers.map((c) => add(`API ${api.fqdn} on ${c.name}`, () => apiCheck(c))));
  if (api.vip) await add(`API on VIP ${api.vip}`, () => apiReady(api.vip!, api.fqdn, kc, undefined, api.port));
  await add('nodes Ready', async () => {
    const items = (await ctx.driver.get(apiHost(ctx, outputs), 'nodes'))?.items ?? [];
    const notReady = ctx.config.hosts.filter(
      (h) => !items.some((n) => n.metadata.name === h.name && n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')),
    );
    if (notReady.length) throw new Error(`not Ready: ${notReady.map((h) => h.name).join(', ')}`);
    return `${items.length} node(s) Ready`;
  });
  await add(`registry ${registry.url}`, async () => {
    const c = new RegistryClient({ ...(await registryAccess(ctx, outputs)), attempts: 2 });
    try {
      await c.ping();
    } finally {
      c.close();
    }
    return 'serving with the palisade CA, credentials accepted';
  });
  await add('secrets in palisade-system', async () => {
    const missing = await objectsOutOfPlace(ctx, outputs);
    if (missing.length) throw new Error(`missing or different: ${missing.join(', ')}`);
    return `${(await manifestObjects(ctx, outputs)).length} object(s) present`;
  });
  if (ctx.topology.anyEncrypted && outputs.maybe(DISKS_IN_PLACE)) {
    checks.push({ name: 'data disks bound', ok: true, detail: 'LUKS2 headers and bindings as configured (checked by the encrypt phase in this run)' });
  } else if (ctx.topology.anyEncrypted) {
    await add('data disks bound', async () => {
      const s = await encryptionStatus({ config: ctx.config, hosts: [...outputs.get(HOSTS).values()] });
      const bad = s.hosts.filter((h) => !h.ok);
      if (bad.length)
        throw new Error(
          bad
            .map(
              (h) =>
                `${h.host}: ${
                  h.error ??
                  h.problems.join('; ') ??
                  h.disks
                    .filter((d) => !d.ok)
                    .map((d) => `${d.device} ${d.reason}`)
                    .join('; ')
                }`,
            )
            .join('; '),
        );
      return s.hosts.flatMap((h) => h.disks.map((d) => `${h.host} ${d.device}: ${d.state}`)).join(', ');
    });
  }
  return { ok: checks.every((c) => c.ok), checks };
}

export const verifyPhase: Phase<InstallContext> = {
  id: 'verify',
  title: 'Verify (API through the FQDN on every controller, registry, nodes, secrets, disks)',
  readOnly: true,
  provides: [VERIFY_RESULT],
  shouldRun: () => true,
  async run(ctx, task) {
    const r = await verifyInstall(ctx, task.outputs);
    task.provide(VERIFY_RESULT, r);
    if (!r.ok) {
      throw new PalisadeError('install.verify', `verification failed: ${r.checks.filter((c) => !c.ok).length} check(s)`, {
        details: r.checks.filter((c) => !c.ok).map((c) => ({ path: c.name, message: c.detail })),
        hint: 'fix the cause, then run the install again; finished work is skipped',
      });
    }
    task.output(`${r.checks.length} checks passed`);
  },
};
