import { describe, expect, it } from 'vitest';
import { manifestObjects } from '../../installer/phases/install/shared/cluster.ts';
import { secretsPhase } from '../../installer/phases/install/secrets.ts';
import { HOSTS } from '../../installer/phases/install/outputs.ts';
import { OutputStore } from '../../installer/phases/outputs.ts';
import { harness } from '../fixtures/install-harness.ts';

const ready = async () => {
  const h = await harness({ keys: true });
  h.driver.allReady(['host1', 'host2', 'host3', 'host4']);
  return h;
};

describe('secrets phase', () => {
  it('applies the service secrets, CA, pull secret and ingress TLS to palisade-system', async () => {
    const h = await ready();
    const { result } = await h.run(secretsPhase);
    expect(result.ok).toBe(true);
    expect(h.driver.calls).toEqual([expect.stringMatching(/^apply \d+$/)]);
    const names = [...h.driver.objects.values()].map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`);
    expect(names).toEqual(
      expect.arrayContaining(['Namespace//palisade-system', 'Secret/palisade-system/palisade-registry', 'Secret/palisade-system/palisade-ingress-tls']),
    );
  });

  it('objects already in the cluster as wanted are not applied again; one changed by hand is', async () => {
    const h = await ready();
    await h.driver.apply(h.hosts.get('host1')!, await manifestObjects(h.ctx, OutputStore.of([[HOSTS, h.hosts]])));
    h.driver.calls.length = 0;
    const { result } = await h.run(secretsPhase);
    expect(result.upToDate).toBe(true);
    expect(h.driver.calls).toEqual([]);
    h.driver.objects.get('Secret/palisade-system/palisade-registry')!.data = { '.dockerconfigjson': 'e30=' };
    await h.run(secretsPhase);
    expect(h.driver.calls).toEqual([expect.stringMatching(/^apply /)]);
  });

  it('a cluster that does not answer is an error with its code, naming the host kubectl ran on', async () => {
    const h = await harness({ keys: true });
    const { result } = await h.run(secretsPhase);
    expect(result.failed?.error).toMatchObject({ code: 'cluster.get', message: expect.stringMatching(/^host1: kubectl get/) });
  });

  it('a dry run names what it would apply and where, and applies nothing', async () => {
    const h = await ready();
    const { result } = await h.run(secretsPhase, { dryRun: true });
    expect(result.plan[0]!.lines).toEqual(['host1: apply manifests/ to namespace palisade-system (service secrets, CA, registry pull secret, ingress TLS)']);
    expect(h.driver.calls).toEqual([]);
  });
});
