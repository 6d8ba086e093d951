import type { ClusterDriver, KubeObject } from '../cluster/types.ts';
import { PalisadeError } from '../core/errors.ts';
import type { RemoteHost } from '../hosts/types.ts';
import { renderAccess, type RenderedAccess } from './render.ts';
import { OWNER_LABEL, OWNER_VALUE, clusterRoleName } from './roles.ts';
import { BUILTIN_ROLES, type AccessConfig } from './schema.ts';

/**
 * Apply `access:` to the cluster and remove what palisade made that the config no longer
 * asks for. Owned objects are found by the ownership label, never by a name pattern.
 * A Namespace is never deleted (it holds the tenant's workloads): it is released, its
 * palisade labels removed, and the report says so.
 */

/** The kinds `access` makes, in the order they are pruned (bindings first, so access goes before what it points at). */
export const OWNED_KINDS = ['RoleBinding', 'NetworkPolicy', 'LimitRange', 'ResourceQuota', 'ClusterRole', 'Namespace'] as const;

export interface AccessApplyResult {
  namespaces: string[];
  created: string[];
  configured: string[];
  unchanged: number;
  pruned: string[];
  released: string[];
  /** dry run: what would be applied and removed */
  dryRun: boolean;
}

const ref = (o: KubeObject): string => `${o.kind}/${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;

/** Owned objects in the cluster that the rendering no longer has (pure). */
export function pruneList(live: ReadonlyArray<KubeObject>, rendered: ReadonlyArray<KubeObject>): KubeObject[] {
  const want = new Set(rendered.map(ref));
  return live.filter((o) => o.metadata.labels?.[OWNER_LABEL] === OWNER_VALUE && !want.has(ref(o)));
}

export async function applyAccess(o: { driver: ClusterDriver; api: RemoteHost; access: AccessConfig | undefined; dryRun?: boolean }): Promise<AccessApplyResult> {
  const { driver, api } = o;
  const access = o.access ?? { tenants: [], teams: [], roleBindings: [] };
  const liveNamespaces = ((await driver.get(api, 'namespaces'))?.items ?? []).map((n) => n.metadata.name);
  const rendered: RenderedAccess = renderAccess(access, liveNamespaces);

  // a role the operator names must exist: a binding to a missing ClusterRole grants nothing, silently
  const named = [...new Set(access.roleBindings.map((b) => b.role).filter((r) => !(BUILTIN_ROLES as readonly string[]).includes(r)))];
  for (const role of named) {
    if (!(await driver.get(api, 'clusterroles', clusterRoleName(role)))) {
      const where = access.roleBindings.findIndex((b) => b.role === role);
      throw new PalisadeError('access.unknown-role', `access.roleBindings[${where}].role: the cluster has no ClusterRole "${role}"`, {
        hint: `use one of ${BUILTIN_ROLES.join(', ')}, or create the ClusterRole first (kubectl get clusterroles lists them)`,
      });
    }
  }

  const live: KubeObject[] = [];
  for (const kind of OWNED_KINDS) live.push(...(await driver.list(api, kind, { labelSelector: `${OWNER_LABEL}=${OWNER_VALUE}` })));
  const stale = pruneList(live, rendered.objects).sort((a, b) => OWNED_KINDS.indexOf(a.kind as never) - OWNED_KINDS.indexOf(b.kind as never));
  const result: AccessApplyResult = { namespaces: rendered.namespaces.map((n) => n.name), created: [], configured: [], unchanged: 0, pruned: [], released: [], dryRun: !!o.dryRun };

  if (o.dryRun) {
    const liveRefs = new Set(live.map(ref));
    for (const obj of rendered.objects) (liveRefs.has(ref(obj)) ? result.configured : result.created).push(ref(obj));
    for (const s of stale) (s.kind === 'Namespace' ? result.released : result.pruned).push(ref(s));
    return result;
  }

  if (rendered.objects.length) {
    for (const line of await driver.apply(api, rendered.objects)) {
      const m = /^(\S+)\s+(created|configured|unchanged)/.exec(line);
      if (!m) continue;
      if (m[2] === 'unchanged') result.unchanged++;
      else (m[2] === 'created' ? result.created : result.configured).push(m[1]!);
    }
  }
  const release = stale.filter((s) => s.kind === 'Namespace');
  if (release.length) await driver.apply(api, release.map((n) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: n.metadata.name, labels: {} } })));
  result.released = release.map(ref);
  for (const s of stale.filter((x) => x.kind !== 'Namespace')) {
    await driver.delete(api, s.kind, s.metadata.name, s.metadata.namespace);
    result.pruned.push(ref(s));
  }
  return result;
}
