import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseEncryptionFacts } from '../../installer/encryption/facts.ts';
import { advertisementSigningKeys, jwkThumbprint, thumbprintMatches } from '../../installer/encryption/jwk.ts';
import { bindingMatches, clevisPinConfig, describeBinding, parseClevisList, parsePcrIds } from '../../installer/encryption/luks.ts';
import type { Binding } from '../../installer/encryption/types.ts';

const fx = (name: string) => readFileSync(join(import.meta.dirname, '../fixtures/encryption', name), 'utf8');
const facts = (state: string) => parseEncryptionFacts('h1', ['/dev/vdb'], fx(`${state}.facts.txt`));
const disk = (state: string) => facts(state).disks[0]!;
const THP_A = fx('tang-adv-a.thumbprint').trim();
const THP_B = fx('tang-adv-b.thumbprint').trim();

describe('JWK thumbprints', () => {
  it('matches the RFC 7638 example', () => {
    const jwk = {
      kty: 'RSA',
      n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
      e: 'AQAB',
      alg: 'RS256',
      kid: '2011-04-29',
    };
    expect(jwkThumbprint(jwk)).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });

  it('computes the thumbprint tang-show-keys printed for a recorded advertisement', () => {
    const keys = advertisementSigningKeys(fx('tang-adv-a.json'));
    expect(keys.map((k) => jwkThumbprint(k))).toEqual([THP_A]);
    expect(thumbprintMatches(THP_A, keys)).toBe(true);
    expect(thumbprintMatches(jwkThumbprint(keys[0]!, 'sha1'), keys)).toBe(true);
    expect(thumbprintMatches(THP_B, keys)).toBe(false);
  });

  it('refuses something that is not an advertisement', () => {
    expect(() => advertisementSigningKeys('<html>')).toThrow(/not JSON/);
    expect(() => advertisementSigningKeys('{"payload": 3}')).toThrow(/no payload/);
  });
});

describe('facts probe output', () => {
  it('reads a blank disk', () => {
    const f = facts('blank');
    expect(f.deviceMapper).toBe(false);
    expect(f.tools.cryptsetup && f.tools.clevis && f.tools.clevisTang && f.tools.clevisTpm2).toBe(true);
    const d = f.disks[0]!;
    expect(d).toMatchObject({ exists: true, isBlockDevice: true, sizeBytes: 33554432, blkid: {}, nonZeroHeadBytes: 0, luks: undefined, mapped: false });
  });

  it('reads an ext4 filesystem and where it is mounted', () => {
    expect(disk('ext4').blkid).toMatchObject({ TYPE: 'ext4', USAGE: 'filesystem', LABEL: 'olddata' });
    expect(disk('ext4').mountpoints).toEqual([]);
    expect(disk('ext4-mounted').mountpoints).toHaveLength(1);
  });

  it('reads a partition table and a LUKS1 header without dumping it', () => {
    expect(disk('partitioned').blkid).toMatchObject({ PTTYPE: 'dos' });
    expect(disk('luks1').blkid).toMatchObject({ TYPE: 'crypto_LUKS', VERSION: '1' });
    expect(disk('luks1').luks).toBeUndefined();
  });

  it('reads a tang binding from the LUKS2 header', () => {
    const d = disk('ours-tang');
    expect(d.blkid).toMatchObject({ TYPE: 'crypto_LUKS', VERSION: '2', SUBSYSTEM: 'palisade' });
    expect(d.luks!.keyslots.map((k) => k.id)).toEqual([0, 1]);
    expect(d.luks!.segmentCipher).toBe('aes-xts-plain64');
    expect(d.luks!.tokens).toHaveLength(1);
    const t = d.luks!.tokens[0]!;
    expect(t.keyslots).toEqual([1]);
    expect(t.binding.pin).toBe('tang');
    expect((t.binding as Extract<Binding, { pin: 'tang' }>).url).toBe('http://127.0.0.1:7598');
    expect((t.binding as Extract<Binding, { pin: 'tang' }>).thumbprints).toContain(THP_A);
    expect(d.clevisList).toEqual([`1: tang '{"url":"http://127.0.0.1:7598"}'`]);
  });

  it('reads tpm2 and sss bindings, nested pins included', () => {
    expect(disk('ours-tpm2').luks!.tokens[0]!.binding).toEqual({ pin: 'tpm2', pcrs: [7] });
    const sss = disk('ours-sss-2of2').luks!.tokens[0]!.binding as Extract<Binding, { pin: 'sss' }>;
    expect(sss.pin).toBe('sss');
    expect(sss.threshold).toBe(2);
    expect(sss.pins.map((p) => p.pin).sort()).toEqual(['tang', 'tpm2']);
    expect((disk('ours-sss-1of2').luks!.tokens[0]!.binding as Extract<Binding, { pin: 'sss' }>).threshold).toBe(1);
  });

  it('reads every token when a disk carries two bindings', () => {
    const tokens = disk('ours-sss-1of2-plus-tang-b').luks!.tokens;
    expect(tokens.map((t) => [t.keyslots, t.binding.pin])).toEqual([
      [[1], 'sss'],
      [[2], 'tang'],
    ]);
    expect((tokens[1]!.binding as Extract<Binding, { pin: 'tang' }>).thumbprints).toContain(THP_B);
  });

  it('throws when the probe did not finish', () => {
    const text = fx('blank.facts.txt').replace('@@palisade-enc end', '');
    expect(() => parseEncryptionFacts('h1', ['/dev/vdb'], text)).toThrow(/did not finish/);
  });

  it('reads a device that does not exist', () => {
    const text = fx('blank.facts.txt').replace(/exists=1[\s\S]*?(?=@@palisade-enc end)/, 'exists=0\n\n');
    expect(parseEncryptionFacts('h1', ['/dev/vdb'], text).disks[0]!.exists).toBe(false);
  });
});

describe('bindings', () => {
  const tangA: Binding = { pin: 'tang', url: 'http://127.0.0.1:7598', thumbprints: [THP_A] };
  const tpm: Binding = { pin: 'tpm2', pcrs: [7] };

  it('compare pins regardless of order inside sss', () => {
    const actual = disk('ours-sss-2of2').luks!.tokens[0]!.binding;
    expect(bindingMatches(actual, { pin: 'sss', threshold: 2, pins: [tpm, tangA] })).toBe(true);
    expect(bindingMatches(actual, { pin: 'sss', threshold: 1, pins: [tpm, tangA] })).toBe(false);
    expect(bindingMatches(actual, { pin: 'sss', threshold: 2, pins: [{ pin: 'tpm2', pcrs: [0, 7] }, tangA] })).toBe(false);
    expect(bindingMatches(actual, { pin: 'sss', threshold: 2, pins: [tpm, { ...tangA, thumbprints: [THP_B] }] })).toBe(false);
  });

  it('builds the clevis config with the pinned thumbprint', () => {
    expect(clevisPinConfig({ pin: 'sss', threshold: 1, pins: [tangA, tpm] })).toEqual({
      pin: 'sss',
      config: { t: 1, pins: { tang: [{ url: 'http://127.0.0.1:7598', thp: THP_A }], tpm2: [{ pcr_ids: '7' }] } },
    });
    expect(clevisPinConfig({ pin: 'tpm2', pcrs: [0, 7] })).toEqual({ pin: 'tpm2', config: { pcr_ids: '0,7' } });
    expect(describeBinding({ pin: 'sss', threshold: 2, pins: [tangA, tpm] })).toMatch(
      /^sss\(2 of 2: tang\(http:\/\/127\.0\.0\.1:7598, thp .{10}…\), tpm2\(pcrs 7\)\)$/,
    );
  });

  it('parses clevis luks list and PCR lists', () => {
    expect(parseClevisList(fx('ours-sss-1of2-plus-tang-b.facts.txt')).map((l) => [l.slot, l.pin])).toEqual([
      [1, 'sss'],
      [2, 'tang'],
    ]);
    expect(parsePcrIds('7, 0,7')).toEqual([0, 7]);
    expect(parsePcrIds([1, 2])).toEqual([1, 2]);
  });
});
