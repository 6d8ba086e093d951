import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../installer/config/load.ts';
import { topology } from '../../installer/config/topology.ts';
import type { RemoteHost } from '../../installer/hosts/types.ts';
import { accessPhase } from '../../installer/phases/install/access.ts';
import type { InstallContext } from '../../installer/phases/install/context.ts';
import { HOSTS } from '../../installer/phases/install/outputs.ts';
import { clusterSpec } from '../../installer/phases/install/shared/cluster.ts';
import { OutputStore } from '../../installer/phases/outputs.ts';
import { runPhases } from '../../installer/phases/runner.ts';
import { memoryCluster } from '../fixtures/memory-cluster.ts';

const yaml = `apiVersion: palisade/v1
cluster: { name: lab, fqdn: palisade.lab.internal }
hosts:
  - { name: host1, address: 10.231.0.10, role: controller }
access:
  oidc: { issuerUrl: https://idp.lab.internal/r, clientId: palisade }
  tenants: [{ name: acme, projects: [{ name: web, namespaces: [acme-web] }] }]
  teams: [{ name: devs, oidcGroups: [eng] }]
  roleBindings: [{ team: devs, role: project-editor, scope: project/acme/web }]
`;

async function run(c: ReturnType<typeof memoryCluster>, dryRun = false, api: Partial<RemoteHost> = { name: 'host1' }) {
  const { config } = await parseConfig(yaml, '/tmp/palisade.yaml');
  const ctx = { config, topology: topology(config), driver: c.driver } as unknown as InstallContext;
  return runPhases({ phases: [accessPhase], ctx, dryRun, outputs: OutputStore.of([[HOSTS, new Map([['host1', api as RemoteHost]])]]) });
}

describe('install phase: access', () => {
  it('work to do: applies the rendered objects through the first controller', async () => {
    const c = memoryCluster();
    const r = await run(c);
    expect(r.ok).toBe(true);
    expect(r.ran).toEqual(['access']);
    expect([...c.objects.keys()]).toContain('RoleBinding/acme-web/' + [...c.objects.values()].find((o) => o.kind === 'RoleBinding')!.metadata.name);
  });

  it('state already right: skipped, nothing sent', async () => {
    const c = memoryCluster();
    await run(c);
    c.calls.length = 0;
    const r = await run(c);
    expect(r.ran).toEqual([]);
    expect(r.upToDate).toBe(true);
    expect(c.calls.filter((x) => !x.startsWith('list'))).toEqual([]);
  });

  it('dry run: the plan from the same code path, nothing changed', async () => {
    const c = memoryCluster();
    const r = await run(c, true);
    expect(r.plan.flatMap((p) => p.lines)).toEqual(['host1: apply tenant access: create 10, update 0, remove 0, release 0 namespace(s)']);
    expect(c.objects.size).toBe(0);
  });

  it('dry run before the cluster exists: what the config asks for', async () => {
    const c = memoryCluster();
    c.driver.get = async () => {
      throw Object.assign(new Error('host1: kubectl get namespaces failed: k3s: not found'), { code: 'cluster.get' });
    };
    const r = await run(c, true);
    expect(r.plan.flatMap((p) => p.lines)[0]).toBe('host1: apply tenant access: 10 object(s) for 1 tenant namespace(s)');
    expect(c.objects.size).toBe(0);
  });

  it('a cluster error fails the phase with its code', async () => {
    const c = memoryCluster();
    c.driver.apply = async () => {
      throw Object.assign(new Error('host1: kubectl apply failed: connection refused'), { code: 'cluster.apply' });
    };
    const r = await run(c);
    expect(r.ok).toBe(false);
    expect(r.failed).toMatchObject({ phase: 'access', error: { code: 'cluster.apply', message: expect.stringContaining('host1') } });
  });

  it("the OIDC settings go into the controllers' cluster spec", async () => {
    const { config } = await parseConfig(yaml, '/tmp/palisade.yaml');
    const keys = { secrets: { joinToken: 'T0KEN-123456', registry: { username: 'u', password: 'p', htpasswd: '' } }, rootCa: { certPem: 'CA' } } as never;
    expect(clusterSpec(config, keys, undefined, 'PEM').apiServerArgs).toContain('oidc-issuer-url=https://idp.lab.internal/r');
    expect(clusterSpec(config, keys, undefined, 'PEM').oidcCaPem).toBe('PEM');
  });
});
