import { describe, expect, it } from 'vitest';
import { accessPhase } from '../../installer/phases/install/access.ts';
import { CONFIG, harness } from '../fixtures/install-harness.ts';

const yaml = `${CONFIG}access:
  tenants:
    - name: acme
      projects:
        - { name: web, namespaces: [acme-web] }
`;
const ready = async () => {
  const h = await harness({ yaml, keys: true });
  h.driver.allReady(['host1', 'host2', 'host3', 'host4']);
  return h;
};

describe('access phase', () => {
  it('applies the tenant namespaces and their policies the config asks for, through the first controller', async () => {
    const h = await ready();
    const { result } = await h.run(accessPhase);
    expect(result.ok, String(result.failed?.error)).toBe(true);
    expect(h.driver.calls).toEqual([expect.stringMatching(/^apply \d+$/)]);
    expect([...h.driver.objects.keys()]).toContain('Namespace//acme-web');
  });

  it('a cluster that already matches the config is skipped and nothing is applied', async () => {
    const h = await ready();
    await h.run(accessPhase);
    h.driver.calls.length = 0;
    const { result } = await h.run(accessPhase);
    expect(result.upToDate).toBe(true);
    expect(h.driver.calls).toEqual([]);
  });

  it('a cluster that does not answer is an error with its code, naming the host', async () => {
    const h = await harness({ yaml, keys: true });
    const { result } = await h.run(accessPhase);
    expect(result.failed?.error).toMatchObject({ code: 'cluster.get', message: expect.stringMatching(/^host1: /) });
  });

  it('a dry run says what it would create and applies nothing', async () => {
    const h = await ready();
    const { result } = await h.run(accessPhase, { dryRun: true });
    expect(result.plan[0]!.lines).toEqual([expect.stringMatching(/^host1: apply tenant access: create \d+, update 0, remove 0, release 0 namespace\(s\)$/)]);
    expect(h.driver.calls).toEqual([]);
  });
});
