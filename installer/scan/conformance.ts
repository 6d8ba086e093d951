import { randomBytes } from 'node:crypto';
import type { ClusterDriver } from '../cluster/types.ts';
import type { PalisadeConfig } from '../config/schema.ts';
import { errorMessage } from '../core/errors.ts';
import type { RemoteHost } from '../hosts/types.ts';
import { apiHostOf, nodeReady } from '../upgrade/live.ts';
import { CLUSTER, type Finding } from './types.ts';

/**
 * Conformance: a smoke suite against the cluster API, through a controller the
 * way the driver reaches it: the namespaces the appliance needs, a Secret
 * written, read back and deleted, the registry pull secret naming the pack
 * registry, every configured host a Ready node.
 */
const PULL_SECRET = { namespace: 'palisade-system', name: 'palisade-registry' };

async function step(check: string, title: string, fn: () => Promise<string>): Promise<Finding> {
  try {
    return { check, host: CLUSTER, title, status: 'pass', detail: await fn() };
  } catch (e) {
    return { check, host: CLUSTER, title, status: 'fail', detail: errorMessage(e) };
  }
}

export async function conformanceFindings(
  config: PalisadeConfig,
  hosts: ReadonlyMap<string, RemoteHost>,
  driver: ClusterDriver,
  registry: string,
): Promise<Finding[]> {
  const api = await apiHostOf({ config, hosts, driver });
  if (!api) return [{ check: 'api.reachable', host: CLUSTER, title: 'the cluster API answers', status: 'fail', detail: 'no controller answers the API' }];
  const out: Finding[] = [{ check: 'api.reachable', host: CLUSTER, title: 'the cluster API answers', status: 'pass', detail: `through ${api.name}` }];
  out.push(
    await step('api.namespaces', 'the namespaces the appliance needs exist', async () => {
      const names = (await driver.list(api, 'Namespace')).map((n) => n.metadata?.name);
      const missing = ['kube-system', 'palisade-system'].filter((n) => !names.includes(n));
      if (missing.length) throw new Error(`missing: ${missing.join(', ')}`);
      return `${names.length} namespaces, kube-system and palisade-system among them`;
    }),
  );
  out.push(
    await step('api.secret-roundtrip', 'a Secret is written, read back unchanged and deleted', async () => {
      const name = `palisade-conformance-${randomBytes(4).toString('hex')}`;
      const value = randomBytes(16).toString('base64');
      await driver.apply(api, [{ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'palisade-system' }, type: 'Opaque', data: { probe: value } }]);
      try {
        const got = await driver.get(api, 'Secret', name, 'palisade-system');
        const back = (got as { data?: Record<string, string> } | undefined)?.data?.probe;
        if (back !== value) throw new Error(back === undefined ? 'the Secret was not found after it was written' : 'the Secret came back changed');
      } finally {
        await driver.delete(api, 'Secret', name, 'palisade-system');
      }
      if (await driver.get(api, 'Secret', name, 'palisade-system')) throw new Error('the Secret is still there after delete');
      return 'written, read back, deleted';
    }),
  );
  out.push(
    await step('api.registry-pull-secret', 'the registry pull secret names the pack registry', async () => {
      const s = (await driver.get(api, 'Secret', PULL_SECRET.name, PULL_SECRET.namespace)) as { type?: string; data?: Record<string, string> } | undefined;
      if (!s) throw new Error(`no Secret ${PULL_SECRET.namespace}/${PULL_SECRET.name}`);
      const cfg = JSON.parse(Buffer.from(s.data?.['.dockerconfigjson'] ?? '', 'base64').toString('utf8')) as { auths?: Record<string, { auth?: string }> };
      const host = registry.replace(/^https:\/\//, '');
      if (!cfg.auths?.[host]?.auth) throw new Error(`it has no credentials for ${host} (it names ${Object.keys(cfg.auths ?? {}).join(', ') || 'nothing'})`);
      return `${s.type}: credentials for ${host}`;
    }),
  );
  out.push(
    await step('api.nodes-ready', 'every host is a Ready node', async () => {
      const nodes = await driver.list(api, 'Node');
      const notReady = config.hosts.map((h) => h.name).filter((n) => !nodeReady(nodes.find((x) => x.metadata?.name === n)));
      if (notReady.length) throw new Error(`not Ready: ${notReady.join(', ')}`);
      return `${config.hosts.length} node(s) Ready`;
    }),
  );
  return out;
}
