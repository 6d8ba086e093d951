import { describe, expect, it } from 'vitest';
import { applyAccess } from '../../installer/access/apply.ts';
import { accessSchema } from '../../installer/access/schema.ts';
import type { RemoteHost } from '../../installer/hosts/types.ts';
import { memoryCluster } from '../fixtures/memory-cluster.ts';

const api = { name: 'host1' } as RemoteHost;
const config = accessSchema.parse({
  tenants: [{ name: 'acme', projects: [{ name: 'web', namespaces: ['acme-web'], quota: { pods: 10 } }, { name: 'data', namespaces: ['acme-data'] }] }],
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
  });

  it('a project dropped from the config: its objects are pruned by label, its namespace released (not deleted), others untouched', async () => {
    const c = memoryCluster([foreign]);
    await applyAccess({ driver: c.driver, api, access: config });
    const smaller = accessSchema.parse({ ...config, tenants: [{ name: 'acme', projects: [config.tenants[0]!.projects[0]] }] });
    const r = await applyAccess({ driver: c.driver, api, access: smaller });
    expect(r.pruned.sort()).toEqual([
      expect.stringMatching(/^NetworkPolicy\/acme-data\/palisade-tenant-isolation$/),
      expect.stringMatching(/^RoleBinding\/acme-data\/palisade-project-editor-/),
    ].sort());
    expect(r.released).toEqual(['Namespace/acme-data']);
    expect(c.objects.get('Namespace//acme-data')?.metadata.labels).toEqual({});
    expect(c.objects.get('Namespace//someone-elses')).toEqual(foreign);
    expect([...c.objects.keys()].filter((k) => k.includes('/acme-data/'))).toEqual([]);
  });

  it('an operator-named ClusterRole must exist in the cluster', async () => {
    const c = memoryCluster();
    const named = accessSchema.parse({ ...config, roleBindings: [{ team: 'devs', role: 'site-reader', scope: 'tenant/acme' }] });
    await expect(applyAccess({ driver: c.driver, api, access: named })).rejects.toMatchObject({ code: 'access.unknown-role', message: expect.stringContaining('access.roleBindings[0].role') });
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
