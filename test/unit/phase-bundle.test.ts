import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundlePhase } from '../../installer/phases/install/bundle.ts';
import { BUNDLE } from '../../installer/phases/install/outputs.ts';
import type { TestBundle } from '../../scripts/bundle/build-test-bundle.ts';
import { smallBundle } from '../fixtures/bundle/small-bundle.ts';
import { harness } from '../fixtures/install-harness.ts';

let b: TestBundle;
beforeAll(async () => {
  b = await smallBundle(await mkdtemp(join(tmpdir(), 'palisade-bundle-phase-')));
}, 60_000);

const setup = async (key = createPublicKey(b.publicKeyPem)) => {
  const h = await harness();
  h.ctx.bundlePath = b.path;
  h.ctx.trustedKey = key;
  return h;
};

describe('bundle phase', () => {
  it('verifies the bundle against the trusted key and hands the open bundle on', async () => {
    const h = await setup();
    const { result } = await h.run(bundlePhase);
    expect(result.ok, String(result.failed?.error)).toBe(true);
    expect(result.outputs.get(BUNDLE).manifest).toMatchObject({ name: 'small', version: '1.0.0' });
  });

  it('changes nothing: no host is touched, the run stays up to date', async () => {
    const h = await setup();
    const { result } = await h.run(bundlePhase);
    expect(result.upToDate).toBe(true);
    for (const host of h.hosts.values()) expect(host.commands).toEqual([]);
  });

  it('a bundle signed by another key is refused with a bundle error, and nothing is opened', async () => {
    const h = await setup(generateKeyPairSync('ed25519').publicKey);
    const { result } = await h.run(bundlePhase);
    expect((result.failed?.error as { code?: string } | undefined)?.code).toMatch(/^bundle\./);
    expect(result.outputs.maybe(BUNDLE)).toBeUndefined();
  });

  it('a dry run verifies it too (every later plan needs it) and plans no change', async () => {
    const h = await setup();
    const { result } = await h.run(bundlePhase, { dryRun: true });
    expect(result.plan).toEqual([]);
    expect(result.outputs.get(BUNDLE).manifest.name).toBe('small');
  });
});
