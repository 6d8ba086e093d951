import type { ClusterDriver, KubeObject } from '../cluster/types.ts';
import { PalisadeError } from '../core/errors.ts';
import type { RemoteHost } from '../hosts/types.ts';
import { renderAccess } from './render.ts';
import { OWNER_LABEL, OWNER_VALUE, clusterRoleName } from './roles.ts';
import { BUILTIN_ROLES, type AccessConfig } from './schema.ts';

/**
 * Apply `access:` to the cluster and remove what palisade made that the config no longer
 * asks for. Owned objects are found by the ownership label, never by a name pattern.
 * A Namespace is never deleted (it holds the tenant's workloads): it is released, its
 * palisade labels removed, and the result says so.
 */

/** The kinds `access` makes, in the order they are pruned (bindings first, so access goes before what it points at). */
export const OWNED_KINDS = ['RoleBinding', 'NetworkPolicy', 'LimitRange', 'ResourceQuota', 'ClusterRole', 'Namespace'] as const;

export interface AccessPlan {
  namespaces: string[];
  /** rendered objects the cluster does not have */
  create: KubeObject[];
  /** rendered objects the cluster has with other content */
  update: KubeObject[];
  unchanged: number;
  /** owned objects the rendering no longer has (Namespaces among them are released, not deleted) */
  stale: KubeObject[];
}

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

export const objectRef = (o: KubeObject): string => `${o.kind}/${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;

/** Does the live object hold everything we render? (The API server adds defaults, uids and status; those do not count.) */
function contains(want: unknown, live: unknown): boolean {
  if (Array.isArray(want)) return Array.isArray(live) && want.length === live.length && want.every((w, i) => contains(w, live[i]));
  if (want && typeof want === 'object') {
    if (!live || typeof live !== 'object' || Array.isArray(live)) return false;
    return Object.entries(want).every(([k, v]) => contains(v, (live as Record<string, unknown>)[k]));
  }
  return want === live;
}

export function inPlace(want: KubeObject, live: KubeObject | undefined): boolean {
  if (!live) return false;
  // the control plane fills an aggregated role's rules in: ours are a placeholder
  const { rules: _rules, ...rest } = want;
  return contains(want.aggregationRule ? rest : want, live);
}

/** What applying would do, from the rendering and the live owned objects (pure). */
export function planAccess(rendered: ReadonlyArray<KubeObject>, liveOwned: ReadonlyArray<KubeObject>, namespaces: string[]): AccessPlan {
  const live = new Map(liveOwned.map((o) => [objectRef(o), o]));
  const plan: AccessPlan = { namespaces, create: [], update: [], unchanged: 0, stale: [] };
  for (const o of rendered) {
    const l = live.get(objectRef(o));
    if (!l) plan.create.push(o);
    else if (!inPlace(o, l)) plan.update.push(o);
    else plan.unchanged++;
  }
  const want = new Set(rendered.map(objectRef));
  plan.stale = liveOwned
    .filter((o) => o.metadata.labels?.[OWNER_LABEL] === OWNER_VALUE && !want.has(objectRef(o)))
    .sort((a, b) => OWNED_KINDS.indexOf(a.kind as never) - OWNED_KINDS.indexOf(b.kind as never));
  return plan;
}

export const planHasWork = (p: AccessPlan): boolean => p.create.length + p.update.length + p.stale.length > 0;

/** Read the cluster and plan (read-only). */
export async function accessPlanFor(driver: ClusterDriver, api: RemoteHost, access: AccessConfig | undefined): Promise<AccessPlan> {
  const a = access ?? { tenants: [], teams: [], roleBindings: [] };
  const allNamespaces = ((await driver.get(api, 'namespaces'))?.items ?? []).map((n) => n.metadata.name);
  const rendered = renderAccess(a, allNamespaces);
  // a role the operator names must exist: a binding to a missing ClusterRole grants nothing, silently
  const named = [...new Set(a.roleBindings.map((b) => b.role).filter((r) => !(BUILTIN_ROLES as readonly string[]).includes(r)))];
  for (const role of named) {
    if (!(await driver.get(api, 'clusterroles', clusterRoleName(role)))) {
      const where = a.roleBindings.findIndex((b) => b.role === role);
      throw new PalisadeError('access.unknown-role', `access.roleBindings[${where}].role: the cluster has no ClusterRole "${role}"`, {
        hint: `use one of ${BUILTIN_ROLES.join(', ')}, or create the ClusterRole first (kubectl get clusterroles lists them)`,
      });
    }
  }
  // one request for every kind (kubectl takes a comma list), so a no-op install pays one round trip
  const live = await driver.list(api, OWNED_KINDS.join(','), { labelSelector: `${OWNER_LABEL}=${OWNER_VALUE}` });
  return planAccess(
    rendered.objects,
    live,
    rendered.namespaces.map((n) => n.name),
  );
}

/** Carry a plan out: apply what is missing or different, release stale namespaces, delete the rest. */
export async function executeAccessPlan(driver: ClusterDriver, api: RemoteHost, plan: AccessPlan): Promise<AccessApplyResult> {
  const result: AccessApplyResult = {
    namespaces: plan.namespaces,
    created: [],
    configured: [],
    unchanged: plan.unchanged,
    pruned: [],
    released: [],
    dryRun: false,
  };
  const changes = [...plan.create, ...plan.update];
  if (changes.length) {
    await driver.apply(api, changes);
    result.created = plan.create.map(objectRef);
    result.configured = plan.update.map(objectRef);
  }
  const release = plan.stale.filter((s) => s.kind === 'Namespace');
  if (release.length)
    await driver.apply(
      api,
      release.map((n) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: n.metadata.name, labels: {} } })),
    );
  result.released = release.map(objectRef);
  for (const s of plan.stale.filter((x) => x.kind !== 'Namespace')) {
    await driver.delete(api, s.kind, s.metadata.name, s.metadata.namespace);
    result.pruned.push(objectRef(s));
  }
  return result;
}

export function describePlan(plan: AccessPlan): AccessApplyResult {
  return {
    namespaces: plan.namespaces,
    created: plan.create.map(objectRef),
    configured: plan.update.map(objectRef),
    unchanged: plan.unchanged,
    pruned: plan.stale.filter((s) => s.kind !== 'Namespace').map(objectRef),
    released: plan.stale.filter((s) => s.kind === 'Namespace').map(objectRef),
    dryRun: true,
  };
}

export async function applyAccess(o: {
  driver: ClusterDriver;
  api: RemoteHost;
  access: AccessConfig | undefined;
  dryRun?: boolean;
}): Promise<AccessApplyResult> {
  const plan = await accessPlanFor(o.driver, o.api, o.access);
  return o.dryRun ? describePlan(plan) : executeAccessPlan(o.driver, o.api, plan);
}
