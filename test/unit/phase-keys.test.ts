import { describe, expect, it } from 'vitest';
import { keysPhase } from '../../installer/phases/install/keys.ts';
import { KEY_NAMES } from '../../installer/pki/keyset.ts';
import { harness } from '../fixtures/install-harness.ts';

describe('keys phase', () => {
  it('without a keystore: creates it, generates the key set and saves it once', async () => {
    const h = await harness();
    const { result } = await h.run(keysPhase);
    expect(result.ok).toBe(true);
    const saved = h.keystores.saved.get(h.ctx.keystorePath)!;
    expect(saved.get(KEY_NAMES.rootCa)?.meta?.cert).toMatch(/BEGIN CERTIFICATE/);
    expect(saved.get(KEY_NAMES.hostServer('host3'))).toBeDefined();
    expect(h.keystores.saves).toBe(1);
    expect((await h.ctx.keys.keySet()).rootCa.certPem).toBe(saved.get(KEY_NAMES.rootCa)?.meta?.cert);
  });

  it('a keystore that holds every key is skipped and not written', async () => {
    const h = await harness({ keys: true });
    const { result, events } = await h.run(keysPhase);
    expect(events).toContainEqual(expect.objectContaining({ phase: 'keys', status: 'skipped' }));
    expect(result.upToDate).toBe(true);
    expect(h.keystores.saves).toBe(0);
  });

  it('a new host gets its certificates from the existing CA; nothing else is made again', async () => {
    const h = await harness({ keys: true });
    const saved = h.keystores.saved.get(h.ctx.keystorePath)!;
    const root = saved.get(KEY_NAMES.rootCa)!.meta!.cert;
    saved.delete(KEY_NAMES.hostServer('host2'));
    await h.run(keysPhase);
    const after = h.keystores.saved.get(h.ctx.keystorePath)!;
    expect(after.get(KEY_NAMES.rootCa)!.meta!.cert).toBe(root);
    expect(after.get(KEY_NAMES.hostServer('host2'))?.meta?.chain).toBe(after.get(KEY_NAMES.intermediateCa)!.meta!.cert);
  });

  it('a keystore that cannot be written fails the phase with the reason', async () => {
    const h = await harness();
    h.keystores.failSave = true;
    const { result } = await h.run(keysPhase);
    expect(result.ok).toBe(false);
    expect(result.failed?.phase).toBe('keys');
    expect((result.failed!.error as Error).message).toMatch(/no space left on device/);
  });

  it('a dry run plans the keystore and the keys, writes nothing, and later phases can plan with the keys', async () => {
    const h = await harness();
    const { result } = await h.run(keysPhase, { dryRun: true });
    expect(result.plan[0]!.lines).toEqual([
      `create the keystore ${h.ctx.keystorePath}`,
      expect.stringMatching(/^generate \d+ key\(s\) \(CA chain, certificates, service secrets\) into /),
    ]);
    expect(h.keystores.saved.size).toBe(0);
    expect((await h.ctx.keys.keySet()).secrets.joinToken).toBeTruthy();
  });
});
