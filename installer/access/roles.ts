import type { ClusterRole, PolicyRule } from './rbac.ts';
import { BUILTIN_ROLES } from './schema.ts';

/**
 * The built-in roles, as Kubernetes builds its own view/edit/admin: each role is an
 * aggregated ClusterRole whose rules the control plane fills in from the ClusterRoles that
 * carry its `palisade.io/aggregate-to-<role>` label. An operator extends a role by labelling
 * a ClusterRole of their own, without editing palisade's.
 */

export type BuiltinRole = (typeof BUILTIN_ROLES)[number];

export const OWNER_LABEL = 'palisade.io/owner';
export const OWNER_VALUE = 'access';
export const TENANT_LABEL = 'palisade.io/tenant';
export const PROJECT_LABEL = 'palisade.io/project';

export const owned = { 'app.kubernetes.io/managed-by': 'palisade', [OWNER_LABEL]: OWNER_VALUE } as const;

export const clusterRoleName = (role: string): string => ((BUILTIN_ROLES as readonly string[]).includes(role) ? `palisade:${role}` : role);
const aggregateLabel = (role: BuiltinRole): string => `palisade.io/aggregate-to-${role}`;

const read = ['get', 'list', 'watch'];
const write = ['create', 'update', 'patch', 'delete', 'deletecollection'];
const workloads: PolicyRule[] = [
  {
    apiGroups: [''],
    resources: ['pods', 'services', 'endpoints', 'configmaps', 'persistentvolumeclaims', 'serviceaccounts', 'replicationcontrollers'],
    verbs: [],
  },
  { apiGroups: ['apps'], resources: ['deployments', 'replicasets', 'statefulsets', 'daemonsets'], verbs: [] },
  { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], verbs: [] },
  { apiGroups: ['networking.k8s.io'], resources: ['ingresses'], verbs: [] },
  { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: [] },
];
const withVerbs = (rules: PolicyRule[], verbs: string[]): PolicyRule[] => rules.map((r) => ({ ...r, verbs }));

/** The rule sets that the aggregated roles pick up, and which roles pick each up. */
const RULE_SETS: Array<{ name: string; to: BuiltinRole[]; rules: PolicyRule[] }> = [
  {
    name: 'read',
    to: ['project-viewer', 'project-editor', 'project-admin', 'tenant-admin'],
    rules: [
      ...withVerbs(workloads, read),
      { apiGroups: [''], resources: ['pods/log', 'events', 'resourcequotas', 'limitranges'], verbs: read },
      { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: read },
      { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: read },
    ],
  },
  {
    name: 'write',
    to: ['project-editor', 'project-admin', 'tenant-admin'],
    rules: [
      ...withVerbs(workloads, write),
      // Secrets are not readable by viewers (as Kubernetes' own view role): they hold credentials
      { apiGroups: [''], resources: ['secrets'], verbs: [...read, ...write] },
      { apiGroups: [''], resources: ['pods/exec', 'pods/portforward', 'pods/attach'], verbs: ['create', 'get'] },
      { apiGroups: ['apps'], resources: ['deployments/scale', 'statefulsets/scale', 'replicasets/scale'], verbs: ['get', 'update', 'patch'] },
    ],
  },
  {
    name: 'admin',
    to: ['project-admin', 'tenant-admin'],
    rules: [
      // escalation stays impossible: the API server lets a subject grant only what it holds
      { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles', 'rolebindings'], verbs: [...read, ...write] },
      { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: write },
    ],
  },
];

export function builtinClusterRoles(): ClusterRole[] {
  const aggregated: ClusterRole[] = BUILTIN_ROLES.map((role) => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: clusterRoleName(role), labels: { ...owned } },
    aggregationRule: { clusterRoleSelectors: [{ matchLabels: { [aggregateLabel(role)]: 'true' } }] },
    // filled in by the control plane from the selected roles
    rules: [],
  }));
  const carriers: ClusterRole[] = RULE_SETS.map((s) => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: `palisade:aggregate:${s.name}`, labels: { ...owned, ...Object.fromEntries(s.to.map((r) => [aggregateLabel(r), 'true'])) } },
    rules: s.rules,
  }));
  return [...aggregated, ...carriers] as ClusterRole[];
}
