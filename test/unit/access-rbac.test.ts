import { describe, expect, it } from 'vitest';
import { authorize, effectiveRules, ruleAllows, type ClusterRole, type RbacObjects, type RoleBinding } from '../../installer/access/rbac.ts';

// Cases follow the examples of the Kubernetes RBAC documentation ("Using RBAC Authorization").
const podReader = {
  kind: 'Role',
  metadata: { name: 'pod-reader', namespace: 'default' },
  rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'watch', 'list'] }],
} as const;
const secretReader: ClusterRole = {
  kind: 'ClusterRole',
  metadata: { name: 'secret-reader' },
  rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'watch', 'list'] }],
};
const bind = (
  kind: RoleBinding['kind'],
  name: string,
  ns: string | undefined,
  subjects: RoleBinding['subjects'],
  roleRef: RoleBinding['roleRef'],
): RoleBinding => ({
  kind,
  metadata: { name, ...(ns ? { namespace: ns } : {}) },
  subjects,
  roleRef,
});

describe('RBAC rules match as the Kubernetes authorizer matches them', () => {
  it('a Role bound in a namespace allows its verbs on its resources there, and nothing else', () => {
    const rbac: RbacObjects = {
      clusterRoles: [],
      roles: [podReader as never],
      bindings: [bind('RoleBinding', 'read-pods', 'default', [{ kind: 'User', name: 'jane' }], { kind: 'Role', name: 'pod-reader' })],
    };
    const jane = { user: 'jane', groups: [] };
    expect(authorize(jane, { verb: 'list', apiGroup: '', resource: 'pods', namespace: 'default' }, rbac).allowed).toBe(true);
    expect(authorize(jane, { verb: 'delete', apiGroup: '', resource: 'pods', namespace: 'default' }, rbac).allowed).toBe(false);
    expect(authorize(jane, { verb: 'list', apiGroup: '', resource: 'pods', namespace: 'other' }, rbac).allowed).toBe(false);
    expect(authorize(jane, { verb: 'list', apiGroup: 'apps', resource: 'pods', namespace: 'default' }, rbac).allowed).toBe(false);
    expect(authorize({ user: 'bob', groups: [] }, { verb: 'list', apiGroup: '', resource: 'pods', namespace: 'default' }, rbac).allowed).toBe(false);
  });

  it("a RoleBinding to a ClusterRole grants it in the binding's namespace only; a ClusterRoleBinding everywhere", () => {
    const rbac: RbacObjects = {
      clusterRoles: [secretReader],
      roles: [],
      bindings: [
        bind('RoleBinding', 'read-secrets', 'development', [{ kind: 'User', name: 'dave' }], { kind: 'ClusterRole', name: 'secret-reader' }),
        bind('ClusterRoleBinding', 'read-secrets-global', undefined, [{ kind: 'Group', name: 'manager' }], { kind: 'ClusterRole', name: 'secret-reader' }),
      ],
    };
    expect(authorize({ user: 'dave', groups: [] }, { verb: 'get', apiGroup: '', resource: 'secrets', namespace: 'development' }, rbac).allowed).toBe(true);
    expect(authorize({ user: 'dave', groups: [] }, { verb: 'get', apiGroup: '', resource: 'secrets', namespace: 'production' }, rbac).allowed).toBe(false);
    expect(authorize({ user: 'x', groups: ['manager'] }, { verb: 'get', apiGroup: '', resource: 'secrets', namespace: 'production' }, rbac).allowed).toBe(true);
    // cluster-scoped request (no namespace): only a ClusterRoleBinding reaches it
    expect(authorize({ user: 'dave', groups: [] }, { verb: 'list', apiGroup: '', resource: 'secrets' }, rbac).allowed).toBe(false);
    expect(authorize({ user: 'x', groups: ['manager'] }, { verb: 'list', apiGroup: '', resource: 'secrets' }, rbac).allowed).toBe(true);
  });

  it('subresources must be named: "pods" does not allow "pods/log"; "*/scale" matches any scale', () => {
    expect(
      ruleAllows({ apiGroups: [''], resources: ['pods'], verbs: ['get'] }, { verb: 'get', apiGroup: '', resource: 'pods', subresource: 'log', namespace: 'a' }),
    ).toBe(false);
    expect(
      ruleAllows(
        { apiGroups: [''], resources: ['pods', 'pods/log'], verbs: ['get'] },
        { verb: 'get', apiGroup: '', resource: 'pods', subresource: 'log', namespace: 'a' },
      ),
    ).toBe(true);
    expect(
      ruleAllows(
        { apiGroups: ['apps'], resources: ['*/scale'], verbs: ['update'] },
        { verb: 'update', apiGroup: 'apps', resource: 'deployments', subresource: 'scale' },
      ),
    ).toBe(true);
    expect(ruleAllows({ apiGroups: ['apps'], resources: ['*/scale'], verbs: ['update'] }, { verb: 'update', apiGroup: 'apps', resource: 'deployments' })).toBe(
      false,
    );
    expect(ruleAllows({ apiGroups: [''], resources: ['pods/*'], verbs: ['get'] }, { verb: 'get', apiGroup: '', resource: 'pods', subresource: 'log' })).toBe(
      false,
    );
  });

  it('resourceNames restrict a rule to named objects; a request without a name (list, create) does not match them', () => {
    const rule = { apiGroups: [''], resources: ['configmaps'], resourceNames: ['my-configmap'], verbs: ['update', 'get'] };
    expect(ruleAllows(rule, { verb: 'get', apiGroup: '', resource: 'configmaps', name: 'my-configmap', namespace: 'default' })).toBe(true);
    expect(ruleAllows(rule, { verb: 'get', apiGroup: '', resource: 'configmaps', name: 'other', namespace: 'default' })).toBe(false);
    expect(ruleAllows({ ...rule, verbs: ['list'] }, { verb: 'list', apiGroup: '', resource: 'configmaps', namespace: 'default' })).toBe(false);
  });

  it('wildcards: "*" verbs, groups and resources allow everything in reach', () => {
    const all = { apiGroups: ['*'], resources: ['*'], verbs: ['*'] };
    expect(ruleAllows(all, { verb: 'deletecollection', apiGroup: 'batch', resource: 'jobs', namespace: 'n' })).toBe(true);
    expect(ruleAllows(all, { verb: 'get', apiGroup: '', resource: 'pods', subresource: 'exec', namespace: 'n' })).toBe(true);
  });

  it('non-resource URLs: exact, or a trailing * as a prefix; only through a ClusterRoleBinding', () => {
    const hz: ClusterRole = {
      kind: 'ClusterRole',
      metadata: { name: 'health' },
      rules: [{ nonResourceURLs: ['/healthz', '/healthz/*'], verbs: ['get', 'post'] }],
    };
    const viaCrb: RbacObjects = {
      clusterRoles: [hz],
      roles: [],
      bindings: [bind('ClusterRoleBinding', 'h', undefined, [{ kind: 'User', name: 'u' }], { kind: 'ClusterRole', name: 'health' })],
    };
    const viaRb: RbacObjects = {
      clusterRoles: [hz],
      roles: [],
      bindings: [bind('RoleBinding', 'h', 'default', [{ kind: 'User', name: 'u' }], { kind: 'ClusterRole', name: 'health' })],
    };
    const u = { user: 'u', groups: [] };
    expect(authorize(u, { verb: 'get', path: '/healthz/etcd' }, viaCrb).allowed).toBe(true);
    expect(authorize(u, { verb: 'get', path: '/healthzz' }, viaCrb).allowed).toBe(false);
    expect(authorize(u, { verb: 'get', path: '/healthz' }, viaRb).allowed).toBe(false);
  });

  it("service accounts are matched as system:serviceaccount:NS:NAME, the namespace defaulting to the binding's", () => {
    const rbac: RbacObjects = {
      clusterRoles: [secretReader],
      roles: [],
      bindings: [bind('RoleBinding', 'sa', 'ci', [{ kind: 'ServiceAccount', name: 'builder' }], { kind: 'ClusterRole', name: 'secret-reader' })],
    };
    expect(
      authorize({ user: 'system:serviceaccount:ci:builder', groups: [] }, { verb: 'get', apiGroup: '', resource: 'secrets', namespace: 'ci' }, rbac).allowed,
    ).toBe(true);
    expect(
      authorize({ user: 'system:serviceaccount:other:builder', groups: [] }, { verb: 'get', apiGroup: '', resource: 'secrets', namespace: 'ci' }, rbac).allowed,
    ).toBe(false);
  });

  it('an aggregated ClusterRole holds the rules of the ClusterRoles its selectors pick (the documentation\'s "monitoring" example)', () => {
    const monitoring: ClusterRole = {
      kind: 'ClusterRole',
      metadata: { name: 'monitoring' },
      aggregationRule: { clusterRoleSelectors: [{ matchLabels: { 'rbac.example.com/aggregate-to-monitoring': 'true' } }] },
      rules: [],
    };
    const endpoints: ClusterRole = {
      kind: 'ClusterRole',
      metadata: { name: 'monitoring-endpoints', labels: { 'rbac.example.com/aggregate-to-monitoring': 'true' } },
      rules: [{ apiGroups: [''], resources: ['services', 'endpointslices', 'pods'], verbs: ['get', 'list', 'watch'] }],
    };
    const unrelated: ClusterRole = {
      kind: 'ClusterRole',
      metadata: { name: 'other', labels: { team: 'x' } },
      rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['*'] }],
    };
    const all = [monitoring, endpoints, unrelated];
    expect(effectiveRules(monitoring, all)).toEqual(endpoints.rules);
    const rbac: RbacObjects = {
      clusterRoles: all,
      roles: [],
      bindings: [bind('ClusterRoleBinding', 'm', undefined, [{ kind: 'Group', name: 'ops' }], { kind: 'ClusterRole', name: 'monitoring' })],
    };
    expect(authorize({ user: 'a', groups: ['ops'] }, { verb: 'list', apiGroup: '', resource: 'pods', namespace: 'x' }, rbac).allowed).toBe(true);
    expect(authorize({ user: 'a', groups: ['ops'] }, { verb: 'get', apiGroup: '', resource: 'secrets', namespace: 'x' }, rbac).allowed).toBe(false);
    // matchExpressions select too
    const byExpr: ClusterRole = {
      ...monitoring,
      aggregationRule: { clusterRoleSelectors: [{ matchExpressions: [{ key: 'team', operator: 'In', values: ['x'] }] }] },
    };
    expect(effectiveRules(byExpr, [byExpr, endpoints, unrelated])).toEqual(unrelated.rules);
  });

  it('a binding to a role that does not exist grants nothing', () => {
    const rbac: RbacObjects = {
      clusterRoles: [],
      roles: [],
      bindings: [bind('RoleBinding', 'x', 'default', [{ kind: 'User', name: 'jane' }], { kind: 'ClusterRole', name: 'missing' })],
    };
    expect(authorize({ user: 'jane', groups: [] }, { verb: 'get', apiGroup: '', resource: 'pods', namespace: 'default' }, rbac).allowed).toBe(false);
  });
});
