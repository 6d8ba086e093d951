import { describe, expect, it } from 'vitest';
import { applyAccess, inPlace } from '../../installer/access/apply.ts';
import { accessSchema } from '../../installer/access/schema.ts';
import type { RemoteHost } from '../../installer/hosts/types.ts';
import { memoryCluster } from '../fixtures/memory-cluster.ts';

const api = { name: 'host1' } as RemoteHost;
const config = accessSchema.parse({
  tenants: [
    {
      name: 'acme',
      projects: [
        { name: 'web', namespaces: ['acme-web'], quota: { pods: 10 } },
        { name: 'data', namespaces: ['acme-data'] },
      ],
    },
  ],
  teams: [{ name: 'devs', oidcGroups: ['eng'] }],
  roleBindings: [{ team: 'devs', role: 'project-editor', scope: 'tenant/acme' }],
});
const foreign = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'someone-elses', labels: { team: 'x' } } };

describe('access apply', () => {
  it('creates everything once; a second apply changes nothing', async () => {
    const c = memoryCluster([foreign]);
    const first = await applyAccess({ driver: c.driver, api, access: config });
    expect(first.created.length).toBeGreaterThan(10);
    expect(first.pruned).toEqual([]);
    const again = await applyAccess({ driver: c.driver, api, access: config });
    expect(again.created).toEqual([]);
    expect(again.configured).toEqual([]);
    expect(again.unchanged).toBe(first.created.length);
    expect(c.calls.filter((x) => x.startsWith('apply')).length).toBe(1);
  });

  it('a project dropped from the config: its objects are pruned by label, its namespace released (not deleted), others untouched', async () => {
    const c = memoryCluster([foreign]);
    await applyAccess({ driver: c.driver, api, access: config });
    const smaller = accessSchema.parse({ ...config, tenants: [{ name: 'acme', projects: [config.tenants[0]!.projects[0]] }] });
    const r = await applyAccess({ driver: c.driver, api, access: smaller });
    expect(r.pruned.sort()).toEqual(
      [
        expect.stringMatching(/^NetworkPolicy\/acme-data\/palisade-tenant-isolation$/),
        expect.stringMatching(/^RoleBinding\/acme-data\/palisade-project-editor-/),
      ].sort(),
    );
    expect(r.released).toEqual(['Namespace/acme-data']);
    expect(c.objects.get('Namespace//acme-data')?.metadata.labels).toEqual({});
    expect(c.objects.get('Namespace//someone-elses')).toEqual(foreign);
    expect([...c.objects.keys()].filter((k) => k.includes('/acme-data/'))).toEqual([]);
  });

  it('an operator-named ClusterRole must exist in the cluster', async () => {
    const c = memoryCluster();
    const named = accessSchema.parse({ ...config, roleBindings: [{ team: 'devs', role: 'site-reader', scope: 'tenant/acme' }] });
    await expect(applyAccess({ driver: c.driver, api, access: named })).rejects.toMatchObject({
      code: 'access.unknown-role',
      message: expect.stringContaining('access.roleBindings[0].role'),
    });
    expect(c.calls.filter((x) => x.startsWith('apply'))).toEqual([]);
  });

  it('dry-run says what would be created and removed and changes nothing', async () => {
    const c = memoryCluster();
    const r = await applyAccess({ driver: c.driver, api, access: config, dryRun: true });
    expect(r.created.length).toBeGreaterThan(10);
    expect(c.objects.size).toBe(0);
    expect(c.calls.some((x) => x.startsWith('apply') || x.startsWith('delete'))).toBe(false);
  });

  it('no access section: whatever palisade made is removed', async () => {
    const c = memoryCluster([foreign]);
    await applyAccess({ driver: c.driver, api, access: config });
    const r = await applyAccess({ driver: c.driver, api, access: undefined });
    expect(r.released.sort()).toEqual(['Namespace/acme-data', 'Namespace/acme-web']);
    expect([...c.objects.values()].filter((o) => o.metadata.labels?.['palisade.io/owner'])).toEqual([]);
  });
});

describe('what counts as in place', () => {
  const rb = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'b', namespace: 'n', labels: { 'palisade.io/owner': 'access' } },
    subjects: [{ kind: 'Group', name: 'g' }],
    roleRef: { kind: 'ClusterRole', name: 'r' },
  };
  it('what the API server adds (uid, resourceVersion, default labels, status) does not count', () => {
    const live = {
      ...rb,
      metadata: { ...rb.metadata, uid: 'u', resourceVersion: '7', labels: { ...rb.metadata.labels, 'kubernetes.io/metadata.name': 'n' } },
      status: {},
    };
    expect(inPlace(rb, live)).toBe(true);
  });
  it('another subject, one subject more, or another label value does', () => {
    expect(inPlace(rb, { ...rb, subjects: [{ kind: 'Group', name: 'h' }] })).toBe(false);
    expect(inPlace(rb, { ...rb, subjects: [...rb.subjects, { kind: 'User', name: 'u' }] })).toBe(false);
    expect(inPlace(rb, { ...rb, metadata: { ...rb.metadata, labels: { 'palisade.io/owner': 'other' } } })).toBe(false);
  });
  it('an aggregated ClusterRole whose rules the control plane filled in is in place', () => {
    const cr = {
      kind: 'ClusterRole',
      metadata: { name: 'palisade:project-viewer' },
      aggregationRule: { clusterRoleSelectors: [{ matchLabels: { a: 'true' } }] },
      rules: [],
    };
    expect(inPlace(cr, { ...cr, rules: [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }] })).toBe(true);
    expect(inPlace(cr, { ...cr, aggregationRule: { clusterRoleSelectors: [{ matchLabels: { b: 'true' } }] } })).toBe(false);
  });
});
