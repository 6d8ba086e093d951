import { createHash, createPrivateKey } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBundle } from '../../installer/bundle/open.ts';
import { loadPublicKey, renderSignature, signManifest } from '../../installer/bundle/signing.ts';
import { trustedChecksums } from '../../installer/bundle/trust-chain.ts';
import { seedRegistry } from '../../installer/registry/seed.ts';
import type { TestBundle } from '../../scripts/bundle/build-test-bundle.ts';
import { smallBundle } from '../fixtures/bundle/small-bundle.ts';
import { failure } from '../fixtures/errors.ts';

/**
 * A bundle opened with the trusted key holds every file to the digest the
 * signature covers at the moment the file is used: a file (and checksums.txt)
 * swapped after verification is refused.
 */
let work: string;
let dirBundle: TestBundle;
let tarBundle: TestBundle;
let n = 0;
const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
const TOOL = 'bin/tool';

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'palisade-use-time-'));
  dirBundle = await smallBundle(join(work, 'dir'));
  tarBundle = await smallBundle(join(work, 'tar'), { tar: true });
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const key = (tb: TestBundle) => loadPublicKey(tb.publicKeyPem);

async function copyOf(tb: TestBundle): Promise<string> {
  const dst = join(work, `copy-${n++}${tb.path.endsWith('.tar') ? '.tar' : ''}`);
  await cp(tb.path, dst, { recursive: true });
  return dst;
}

/** Change bytes of a tar member in place (same length), as a swap after verification would. */
async function patchTarMember(tarPath: string, member: string, edit: (data: Buffer) => Buffer): Promise<void> {
  const b = await openBundle(tarPath);
  const e = b.files.get(member);
  await b.close();
  if (!e?.offset) throw new Error(`no ${member}`);
  const all = await readFile(tarPath);
  const before = all.subarray(e.offset, e.offset + e.size);
  const after = edit(Buffer.from(before));
  expect(after.length).toBe(before.length);
  after.copy(all, e.offset);
  await writeFile(tarPath, all);
}

describe('a bundle opened with the trusted key', () => {
  it('tar: a file and its checksums.txt line both swapped after opening are refused when the file is used', async () => {
    const t = await copyOf(tarBundle);
    const b = await openBundle(t, { trustedKey: await key(tarBundle) });
    try {
      expect(b.trusted).toBe(true);
      const original = await b.read(TOOL);
      const evil = Buffer.from(original.toString('latin1').replace('palisade', 'PALISADE'), 'latin1');
      await patchTarMember(t, TOOL, () => evil);
      // checksums.txt rewritten to match the swapped file: the signed digest still says otherwise
      await patchTarMember(t, 'checksums.txt', (d) => Buffer.from(d.toString('latin1').replace(sha(original), sha(evil)), 'latin1'));
      expect((await failure(b.localPath(TOOL))).code).toBe('bundle.digest-mismatch');
      expect((await failure(b.read(TOOL))).code).toBe('bundle.digest-mismatch');
      expect(b.digest(TOOL)).toBe(sha(original));
    } finally {
      await b.close();
    }
  });

  it('directory: a file rewritten after opening is refused on read; its signed digest is what uploads are held to', async () => {
    const d = await copyOf(dirBundle);
    const b = await openBundle(d, { trustedKey: await key(dirBundle) });
    try {
      const original = await b.read(TOOL);
      await writeFile(join(d, TOOL), '#!/bin/sh\necho something else entirely\n');
      const e = await failure(b.read(TOOL));
      expect(e.code).toBe('bundle.digest-mismatch');
      expect(e.message).toContain(TOOL);
      expect(b.digest(TOOL)).toBe(sha(original));
      expect(b.digest(TOOL)).not.toBe(sha(await readFile(join(d, TOOL))));
    } finally {
      await b.close();
    }
  });

  it('its own signature chain can be checked again (seeding with the key on the opened bundle); bundle.yaml read later is the verified one', async () => {
    const d = await copyOf(dirBundle);
    const k = await key(dirBundle);
    const b = await openBundle(d, { trustedKey: k });
    try {
      expect((await trustedChecksums(b, k)).get(TOOL)).toBe(b.digest(TOOL));
      expect((await b.read('bundle.yaml')).equals(b.manifestBytes)).toBe(true);
      await writeFile(join(d, 'bundle.yaml'), `${b.manifestBytes.toString('utf8')}# changed\n`);
      expect((await failure(b.read('bundle.yaml'))).code).toBe('bundle.digest-mismatch');
    } finally {
      await b.close();
    }
  });

  it('a file that checksums.txt does not list has no signed digest', async () => {
    const b = await openBundle(dirBundle.path, { trustedKey: await key(dirBundle) });
    try {
      expect(() => b.digest('bin/not-there')).toThrow(expect.objectContaining({ code: 'bundle.digest-mismatch' }));
    } finally {
      await b.close();
    }
  });

  it('without the key a tar still holds checksums.txt to the digest bundle.yaml pins for it', async () => {
    const t = await copyOf(tarBundle);
    const b0 = await openBundle(t);
    const original = await b0.read(TOOL);
    await b0.close();
    const evil = Buffer.from(original.toString('latin1').replace('palisade', 'PALISADE'), 'latin1');
    await patchTarMember(t, TOOL, () => evil);
    await patchTarMember(t, 'checksums.txt', (d) => Buffer.from(d.toString('latin1').replace(sha(original), sha(evil)), 'latin1'));
    const b = await openBundle(t);
    try {
      expect((await failure(b.localPath(TOOL))).code).toBe('bundle.checksums-modified');
    } finally {
      await b.close();
    }
  });
});

describe('a well-formed signature by the right key id that does not verify', () => {
  it('is refused when the bundle is opened with the key, and by seeding with the key, before any registry is contacted', async () => {
    const d = await copyOf(dirBundle);
    const priv = createPrivateKey(await readFile(dirBundle.privateKeyPath));
    // signed by the trusted key, but over other bytes: same key id, valid format, wrong signature
    await writeFile(join(d, 'bundle.sig'), renderSignature(signManifest(Buffer.from('apiVersion: palisade/bundle/v1\nname: other\n'), priv)));
    const k = await key(dirBundle);
    expect((await failure(openBundle(d, { trustedKey: k }))).code).toBe('bundle.signature-bad');
    const e = await failure(seedRegistry({ url: 'https://127.0.0.1:9', bundle: d, trustedKey: k, attempts: 1 }));
    expect(e.code).toBe('bundle.signature-bad');
  });
});
