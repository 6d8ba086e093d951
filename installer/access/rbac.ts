/**
 * The Kubernetes RBAC authorizer's decision, as a pure function over RBAC objects:
 * rule matching (verbs, API groups, resources and subresources, resource names,
 * non-resource URLs, wildcards), subjects, RoleBinding vs ClusterRoleBinding scope and
 * aggregated ClusterRoles. `explain` and `who-can` ask it; it never talks to a cluster.
 * RBAC only allows: there are no deny rules, so "allowed" is "some binding's rule matches".
 */

export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }>;
}

interface Meta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface ClusterRole {
  apiVersion?: string;
  kind: 'ClusterRole';
  metadata: Meta;
  rules?: PolicyRule[];
  aggregationRule?: { clusterRoleSelectors?: LabelSelector[] };
}

export interface Role {
  apiVersion?: string;
  kind: 'Role';
  metadata: Meta & { namespace: string };
  rules?: PolicyRule[];
}

export interface Subject {
  kind: 'User' | 'Group' | 'ServiceAccount';
  name: string;
  namespace?: string;
  apiGroup?: string;
}

export interface RoleBinding {
  apiVersion?: string;
  kind: 'RoleBinding' | 'ClusterRoleBinding';
  metadata: Meta;
  subjects?: Subject[];
  roleRef: { kind: 'Role' | 'ClusterRole'; name: string; apiGroup?: string };
}

export interface RbacObjects {
  clusterRoles: ClusterRole[];
  roles: Role[];
  bindings: RoleBinding[];
}

/** Who asks: the authenticated user name and groups (as the API server sees them, prefixes included). */
export interface UserInfo {
  user: string;
  groups: string[];
}

/** What is asked: a resource request (with namespace, unless cluster-scoped) or a non-resource path. */
export type Request =
  | { verb: string; apiGroup: string; resource: string; subresource?: string; name?: string; namespace?: string }
  | { verb: string; path: string };

export function labelsMatch(selector: LabelSelector, labels: Record<string, string> = {}): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const values = e.values ?? [];
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
    if (e.operator === 'In' && !(has && values.includes(labels[e.key]!))) return false;
    if (e.operator === 'NotIn' && has && values.includes(labels[e.key]!)) return false;
  }
  return true;
}

/**
 * A ClusterRole's effective rules: its own, or for an aggregated role the rules of every
 * ClusterRole its selectors pick (as the aggregation controller fills them in, transitively).
 */
export function effectiveRules(role: ClusterRole, all: ReadonlyArray<ClusterRole>, seen = new Set<string>()): PolicyRule[] {
  const selectors = role.aggregationRule?.clusterRoleSelectors;
  if (!selectors) return role.rules ?? [];
  seen.add(role.metadata.name);
  const out: PolicyRule[] = [];
  for (const other of all) {
    if (seen.has(other.metadata.name)) continue;
    if (selectors.some((s) => labelsMatch(s, other.metadata.labels))) out.push(...effectiveRules(other, all, new Set(seen)));
  }
  return out;
}

const isResource = (r: Request): r is Extract<Request, { resource: string }> => 'resource' in r;

export function ruleAllows(rule: PolicyRule, req: Request): boolean {
  if (!rule.verbs.includes('*') && !rule.verbs.includes(req.verb)) return false;
  if (!isResource(req)) {
    return (rule.nonResourceURLs ?? []).some((u) => u === '*' || u === req.path || (u.endsWith('*') && req.path.startsWith(u.slice(0, -1))));
  }
  const groups = rule.apiGroups ?? [];
  if (!groups.includes('*') && !groups.includes(req.apiGroup)) return false;
  const combined = req.subresource ? `${req.resource}/${req.subresource}` : req.resource;
  const resources = rule.resources ?? [];
  // "*/scale" matches the scale subresource of any resource; "pods/*" is not a Kubernetes form
  const resourceOk = resources.some((r) => r === '*' || r === combined || (!!req.subresource && r === `*/${req.subresource}`));
  if (!resourceOk) return false;
  const names = rule.resourceNames ?? [];
  return names.length === 0 || (req.name !== undefined && names.includes(req.name));
}

export function subjectMatches(s: Subject, who: UserInfo, bindingNamespace: string | undefined): boolean {
  if (s.kind === 'User') return s.name === who.user;
  if (s.kind === 'Group') return who.groups.includes(s.name);
  const ns = s.namespace ?? bindingNamespace;
  return who.user === `system:serviceaccount:${ns}:${s.name}`;
}

export interface BindingGrant {
  binding: RoleBinding;
  /** the subjects of the binding that name this user (directly or through a group) */
  matched: Subject[];
  rules: PolicyRule[];
  /** undefined: every namespace (a ClusterRoleBinding) */
  namespace?: string;
}

/** The rules a binding grants (resolved through its role), or undefined when its role is not among the objects. */
export function bindingRules(b: RoleBinding, rbac: RbacObjects): PolicyRule[] | undefined {
  if (b.roleRef.kind === 'ClusterRole') {
    const cr = rbac.clusterRoles.find((r) => r.metadata.name === b.roleRef.name);
    if (!cr) return undefined;
    const rules = effectiveRules(cr, rbac.clusterRoles);
    // a RoleBinding grants a ClusterRole's rules inside its namespace only: never non-resource URLs
    return b.kind === 'RoleBinding' ? rules.filter((r) => !r.nonResourceURLs?.length) : rules;
  }
  if (b.kind !== 'RoleBinding') return undefined;
  const role = rbac.roles.find((r) => r.metadata.name === b.roleRef.name && r.metadata.namespace === b.metadata.namespace);
  return role?.rules ?? (role ? [] : undefined);
}

/** Every binding that applies to this user, with what it grants. */
export function grantsFor(who: UserInfo, rbac: RbacObjects): BindingGrant[] {
  const out: BindingGrant[] = [];
  for (const b of rbac.bindings) {
    const ns = b.kind === 'RoleBinding' ? b.metadata.namespace : undefined;
    const matched = (b.subjects ?? []).filter((s) => subjectMatches(s, who, ns));
    if (!matched.length) continue;
    out.push({ binding: b, matched, rules: bindingRules(b, rbac) ?? [], ...(ns ? { namespace: ns } : {}) });
  }
  return out;
}

/** The authorizer's answer, with the binding that allowed it. */
export function authorize(who: UserInfo, req: Request, rbac: RbacObjects): { allowed: boolean; by?: BindingGrant } {
  for (const g of grantsFor(who, rbac)) {
    if (g.namespace !== undefined) {
      // namespaced grants cover only requests in that namespace (never cluster-scoped ones or paths)
      if (!isResource(req) || req.namespace !== g.namespace) continue;
    }
    if (g.rules.some((r) => ruleAllows(r, req))) return { allowed: true, by: g };
  }
  return { allowed: false };
}
