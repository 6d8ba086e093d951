import { createPublicKey, type KeyObject } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openBundle, type Bundle } from '../../installer/bundle/open.ts';
import { BUNDLE } from '../../installer/phases/install/outputs.ts';
import { seedPhase } from '../../installer/phases/install/seed.ts';
import { smallBundle } from '../fixtures/bundle/small-bundle.ts';
import { harness } from '../fixtures/install-harness.ts';
import { registryService } from '../fixtures/registry-host.ts';

let bundle: Bundle;
let trustedKey: KeyObject;
beforeAll(async () => {
  const b = await smallBundle(await mkdtemp(join(tmpdir(), 'palisade-seed-phase-')));
  trustedKey = createPublicKey(b.publicKeyPem);
  bundle = await openBundle(b.path, { trustedKey });
}, 60_000);

const setup = async () => {
  const h = await harness({ keys: true });
  h.ctx.trustedKey = trustedKey;
  const svc = registryService(h.hosts.get('host1')!, await h.ctx.keys.keySet(), { running: true });
  return { h, svc, outputs: [[BUNDLE, bundle] as const] };
};
const writes = (requests: string[]) => requests.filter((r) => /^(PUT|PATCH|POST) /.test(r));

describe('seed phase', () => {
  it("pushes the bundle's images and packs to an empty registry, through the registry host's tunnel", async () => {
    const { h, svc, outputs } = await setup();
    const { result } = await h.run(seedPhase, { outputs });
    expect(result.ok, String(result.failed?.error)).toBe(true);
    expect(svc.registry.blobs.size).toBeGreaterThan(0);
    expect([...svc.registry.refs.keys()].some((r) => r.startsWith('packs/'))).toBe(true);
  });

  it('a registry that holds the whole bundle is skipped: nothing is pushed', async () => {
    const { h, svc, outputs } = await setup();
    await h.run(seedPhase, { outputs });
    svc.registry.requests.length = 0;
    const { result } = await h.run(seedPhase, { outputs });
    expect(result.upToDate).toBe(true);
    expect(writes(svc.registry.requests)).toEqual([]);
  });

  it('a registry that does not answer is a registry.unreachable error naming its address', async () => {
    const { h, outputs } = await setup();
    h.hosts.get('host1')!.stop(5000);
    const { result } = await h.run(seedPhase, { outputs });
    expect(result.failed?.error).toMatchObject({ code: 'registry.unreachable', message: expect.stringContaining('10.0.0.1:5000') });
  });

  it('a dry run names the registry it would push to and pushes nothing', async () => {
    const { h, svc, outputs } = await setup();
    const { result } = await h.run(seedPhase, { outputs, dryRun: true });
    expect(result.plan[0]!.lines).toEqual(["push the bundle's images and packs to https://10.0.0.1:5000 (missing blobs only)"]);
    expect(writes(svc.registry.requests)).toEqual([]);
  });
});
