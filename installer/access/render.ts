import { PalisadeError } from '../core/errors.ts';
import type { KubeObject } from '../cluster/types.ts';
import type { RbacObjects, RoleBinding, Subject } from './rbac.ts';
import { PROJECT_LABEL, TENANT_LABEL, builtinClusterRoles, clusterRoleName, owned } from './roles.ts';
import { isRegexClaim, type AccessConfig, type QuotaConfig, type RoleBindingConfig } from './schema.ts';
import { sha256Hex } from '../core/hash.ts';
import { SYSTEM_NAMESPACES, claimRegex } from '../config/access.ts';

export { SYSTEM_NAMESPACES, claimRegex };

/**
 * `access:` → the Kubernetes objects that enforce it (pure). Namespaces carry their tenant
 * and project; every object carries the ownership label, so `access apply` prunes by label.
 * A /regex/ claims the live namespaces that match it in full; a namespace created later is
 * claimed by the next apply, and until then no tenant role reaches it (RBAC denies by default).
 */

export interface ClaimedNamespace {
  name: string;
  tenant: string;
  project: string;
  /** claimed by a /regex/, not by its name */
  byRegex?: string;
}

export interface RenderedAccess {
  namespaces: ClaimedNamespace[];
  /** in apply order: roles, namespaces, then what lives in them */
  objects: KubeObject[];
  rbac: RbacObjects;
}

/** Which project owns each namespace: named claims, and live namespaces that a /regex/ matches. */
export function claimNamespaces(access: AccessConfig, liveNamespaces: ReadonlyArray<string> = []): ClaimedNamespace[] {
  const byName = new Map<string, ClaimedNamespace>();
  const claim = (c: ClaimedNamespace): void => {
    const prev = byName.get(c.name);
    if (prev && (prev.tenant !== c.tenant || prev.project !== c.project)) {
      throw new PalisadeError(
        'access.namespace-claimed-twice',
        `namespace ${c.name} is claimed by project ${prev.tenant}/${prev.project} and by ${c.tenant}/${c.project}`,
        {
          hint: 'narrow one of the /regex/ claims (or name the namespace in one project only) so each namespace belongs to one project',
        },
      );
    }
    if (!prev || (prev.byRegex && !c.byRegex)) byName.set(c.name, c);
  };
  for (const t of access.tenants) {
    for (const p of t.projects) {
      for (const ns of p.namespaces) {
        if (!isRegexClaim(ns)) claim({ name: ns, tenant: t.name, project: p.name });
        else {
          const re = claimRegex(ns);
          for (const live of liveNamespaces) {
            if (re.test(live) && !(SYSTEM_NAMESPACES as readonly string[]).includes(live)) claim({ name: live, tenant: t.name, project: p.name, byRegex: ns });
          }
        }
      }
    }
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

function quotaObjects(ns: string, q: QuotaConfig, labels: Record<string, string>): KubeObject[] {
  const hard: Record<string, string> = {};
  const str = (v: string | number): string => String(v);
  if (q.cpu !== undefined) Object.assign(hard, { 'requests.cpu': str(q.cpu), 'limits.cpu': str(q.cpu) });
  if (q.memory !== undefined) Object.assign(hard, { 'requests.memory': str(q.memory), 'limits.memory': str(q.memory) });
  if (q.pods !== undefined) hard.pods = str(q.pods);
  if (q.storage !== undefined) hard['requests.storage'] = str(q.storage);
  return [
    { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'palisade-quota', namespace: ns, labels }, spec: { hard } },
    {
      apiVersion: 'v1',
      kind: 'LimitRange',
      metadata: { name: 'palisade-limits', namespace: ns, labels },
      // under a cpu/memory quota every container needs limits: these are the defaults (requests default to them)
      spec: { limits: [{ type: 'Container', default: { cpu: str(q.defaultCpu ?? '500m'), memory: str(q.defaultMemory ?? '512Mi') } }] },
    },
  ];
}

function isolationPolicy(c: ClaimedNamespace, labels: Record<string, string>): KubeObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'palisade-tenant-isolation', namespace: c.name, labels },
    spec: {
      podSelector: {},
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [
            { namespaceSelector: { matchLabels: { [TENANT_LABEL]: c.tenant, [PROJECT_LABEL]: c.project } } },
            // the cluster's own components (ingress, metrics) still reach the workloads
            { namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['kube-system', 'palisade-system'] }] } },
          ],
        },
      ],
    },
  };
}

export interface SubjectPrefixes {
  usernamePrefix: string;
  groupsPrefix: string;
}

export const prefixesOf = (access: AccessConfig): SubjectPrefixes => ({
  usernamePrefix: access.oidc?.usernamePrefix ?? '',
  groupsPrefix: access.oidc?.groupsPrefix ?? '',
});

/** The API server's names for a binding's subject (OIDC prefixes applied as the API server applies them). */
export function bindingSubjects(b: RoleBindingConfig, access: AccessConfig, p: SubjectPrefixes): Subject[] {
  const group = (g: string): Subject => ({ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: `${p.groupsPrefix}${g}` });
  const user = (u: string): Subject => ({ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: `${p.usernamePrefix}${u}` });
  if (b.user !== undefined) return [user(b.user)];
  if (b.group !== undefined) return [group(b.group)];
  const team = access.teams.find((t) => t.name === b.team);
  return team ? [...team.oidcGroups.map(group), ...team.users.map(user)] : [];
}

export const describeBinding = (b: RoleBindingConfig): string =>
  `${b.team !== undefined ? `team ${b.team}` : b.user !== undefined ? `user ${b.user}` : `group ${b.group}`} is ${b.role} on ${b.scope}`;

/** A name that stays the same while the binding's who/role/scope do, whatever its place in the list. */
function bindingName(b: RoleBindingConfig): string {
  const who = b.team !== undefined ? `team:${b.team}` : b.user !== undefined ? `user:${b.user}` : `group:${b.group}`;
  const h = sha256Hex(`${who}\n${b.role}\n${b.scope}`).slice(0, 10);
  return `palisade-${b.role.replace(/[^a-z0-9-]/g, '-').slice(0, 40)}-${h}`;
}

export function scopeNamespaces(scope: string, namespaces: ReadonlyArray<ClaimedNamespace>): ClaimedNamespace[] {
  const [kind, tenant, project] = scope.split('/');
  return namespaces.filter((n) => n.tenant === tenant && (kind === 'tenant' || n.project === project));
}

export function renderAccess(access: AccessConfig, liveNamespaces: ReadonlyArray<string> = []): RenderedAccess {
  const namespaces = claimNamespaces(access, liveNamespaces);
  const prefixes = prefixesOf(access);
  // nothing declared: nothing rendered, so removing `access:` removes the roles too
  const clusterRoles = access.tenants.length || access.roleBindings.length ? builtinClusterRoles() : [];
  const objects: KubeObject[] = [...(clusterRoles as unknown as KubeObject[])];
  const rest: KubeObject[] = [];
  for (const c of namespaces) {
    const labels = { ...owned, [TENANT_LABEL]: c.tenant, [PROJECT_LABEL]: c.project };
    objects.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: c.name, labels } });
    const project = access.tenants.find((t) => t.name === c.tenant)?.projects.find((p) => p.name === c.project);
    if (project?.quota) rest.push(...quotaObjects(c.name, project.quota, labels));
    rest.push(isolationPolicy(c, labels));
  }
  const bindings: RoleBinding[] = [];
  for (const b of access.roleBindings) {
    const subjects = bindingSubjects(b, access, prefixes);
    for (const c of scopeNamespaces(b.scope, namespaces)) {
      bindings.push({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: {
          name: bindingName(b),
          namespace: c.name,
          labels: { ...owned, [TENANT_LABEL]: c.tenant, [PROJECT_LABEL]: c.project },
          annotations: { 'palisade.io/binding': describeBinding(b) },
        },
        subjects,
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRoleName(b.role) },
      });
    }
  }
  objects.push(...rest, ...(bindings as unknown as KubeObject[]));
  return { namespaces, objects, rbac: { clusterRoles, roles: [], bindings } };
}
