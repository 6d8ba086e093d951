import { describe, expect, it } from 'vitest';
import { isPalisadeError } from '../../installer/core/errors.ts';
import { decrypt, encrypt, type Payload } from '../../installer/keystore/format.ts';

/** The keystore file format alone, in memory: what its header may say, and what any change to it does. */
const PASS = 'correct horse battery staple';
const kdf = { N: 1024, r: 8, p: 1 };
const payload: Payload = {
  cluster: 'demo',
  savedAt: '2026-12-01T00:00:00.000Z',
  entries: [{ name: 'secrets/x', kind: 'secret', value: 'v', createdAt: '2026-12-01T00:00:00.000Z' }] as Payload['entries'],
};

const split = (data: Buffer): { header: Record<string, unknown>; rest: string } => {
  const text = data.toString('utf8');
  const nl = text.indexOf('\n');
  return { header: JSON.parse(text.slice(0, nl)) as Record<string, unknown>, rest: text.slice(nl) };
};
const join = (header: Record<string, unknown>, rest: string): Buffer => Buffer.from(JSON.stringify(header) + rest);

async function refusal(p: Promise<unknown>): Promise<{ code: string; ms: number }> {
  const t0 = Date.now();
  try {
    await p;
  } catch (e) {
    if (!isPalisadeError(e)) throw e;
    return { code: e.code, ms: Date.now() - t0 };
  }
  throw new Error('expected a refusal');
}

describe("keystore header: the key-derivation cost is not the file's to choose", () => {
  it('a header asking for scrypt N=2^22, r=64 or N=2^20, r=p=8 is a damaged keystore, refused at once', async () => {
    const good = await encrypt(payload, PASS, { kdf });
    const { header, rest } = split(good);
    const kdfOf = header.kdf as Record<string, unknown>;
    for (const k of [
      { N: 2 ** 22, r: 64, p: 1 },
      { N: 2 ** 20, r: 8, p: 8 },
      { N: 2 ** 19, r: 8, p: 1 },
      { N: 2 ** 17, r: 16, p: 1 },
      { N: 2 ** 17, r: 8, p: 2 },
      { N: 512, r: 8, p: 1 },
      { N: 3 * 2 ** 15, r: 8, p: 1 },
      { N: '131072', r: 8, p: 1 },
    ]) {
      const r = await refusal(decrypt(join({ ...header, kdf: { ...kdfOf, ...k } }, rest), PASS, 'ks'));
      expect(r.code, JSON.stringify(k)).toBe('keystore.damaged');
      expect(r.ms, JSON.stringify(k)).toBeLessThan(500);
    }
  });

  it('what palisade writes is read: the default cost and the test cost', async () => {
    for (const k of [kdf, { N: 2 ** 17, r: 8, p: 1 }]) {
      const { payload: back } = await decrypt(await encrypt(payload, PASS, { kdf: k }), PASS, 'ks');
      expect(back.entries[0]?.name).toBe('secrets/x');
    }
  });

  it('palisade never writes a keystore it would refuse to read', async () => {
    await expect(encrypt(payload, PASS, { kdf: { N: 2 ** 20, r: 8, p: 8 } })).rejects.toThrow(/outside/);
  });
});

describe('keystore header: every byte of it is authenticated', () => {
  it('changing purpose (keystore -> recovery) with the right passphrase fails authentication', async () => {
    const good = await encrypt(payload, PASS, { kdf });
    const { header, rest } = split(good);
    expect(header.purpose).toBe('keystore');
    expect((await refusal(decrypt(join({ ...header, purpose: 'recovery' }, rest), PASS, 'ks'))).code).toBe('keystore.tampered');
  });

  it('adding a field to the header, or reordering it, fails authentication', async () => {
    const good = await encrypt(payload, PASS, { kdf });
    const { header, rest } = split(good);
    expect((await refusal(decrypt(join({ ...header, note: 'added' }, rest), PASS, 'ks'))).code).toBe('keystore.tampered');
    const reordered = Object.fromEntries(Object.entries(header).reverse());
    expect((await refusal(decrypt(join(reordered, rest), PASS, 'ks'))).code).toBe('keystore.tampered');
    // the untouched file still opens: the refusals above are the changes, not the test
    expect((await decrypt(good, PASS, 'ks')).payload.cluster).toBe('demo');
  });
});
