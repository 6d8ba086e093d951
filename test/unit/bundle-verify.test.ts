import { createHash, createPrivateKey } from 'node:crypto';
import { appendFile, cp, mkdtemp, readFile, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkBundle, verifyBundle } from '../../installer/bundle/verify.ts';
import { generateSigningKey } from '../../installer/bundle/signing.ts';
import { openBundle } from '../../installer/bundle/open.ts';
import { parseChecksums, renderChecksums } from '../../installer/bundle/checksums.ts';
import { parseManifest, renderManifest } from '../../installer/bundle/manifest.ts';
import { renderSignature, signManifest } from '../../installer/bundle/signing.ts';
import { isPalisadeError } from '../../installer/core/errors.ts';
import { smallBundle } from '../fixtures/bundle/small-bundle.ts';
import { packTar, type PackEntry } from '../fixtures/bundle/tar-pack.ts';
import type { TestBundle } from '../../scripts/bundle/build-test-bundle.ts';

let work: string;
let tb: TestBundle;
let tarBundle: TestBundle;
let n = 0;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'palisade-bundle-verify-'));
  tb = await smallBundle(join(work, 'dir'));
  tarBundle = await smallBundle(join(work, 'tar'), { tar: true });
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** A fresh copy of the good bundle to damage. */
async function copy(): Promise<string> {
  const dst = join(work, `copy-${n++}`);
  await cp(tb.path, dst, { recursive: true });
  return dst;
}

async function problems(path: string, key = tb.publicKeyPem): Promise<string[]> {
  const r = await checkBundle(path, key);
  return r.problems.map((p) => p.code);
}

async function someBlob(dir: string): Promise<string> {
  const sums = parseChecksums(await readFile(join(dir, 'checksums.txt'), 'utf8'));
  return [...sums.keys()].find((p) => p.startsWith('images/blobs/')) as string;
}

/** Write a tar from entries (for crafted archives). */
async function makeTar(file: string, entries: PackEntry[]): Promise<void> {
  // a file entry without data is an empty file, not a header alone
  await writeFile(file, await packTar(entries.map((e) => (e.type === undefined || e.type === 'file' ? { ...e, data: e.data ?? '' } : e))));
}

describe('bundle verify: a good bundle', () => {
  it('verifies as a directory and as a tar, and reports what it checked', async () => {
    const r = await verifyBundle(tb.path, tb.publicKeyPem);
    expect(r.ok).toBe(true);
    expect(r.files).toBeGreaterThan(10);
    expect(r.signedBy).toMatch(/^SHA256:/);
    const t = await verifyBundle(tarBundle.path, tarBundle.publicKeyPem);
    expect(t.ok).toBe(true);
    expect(t.files).toBe(r.files);
  });

  it('accepts the trusted key as a path', async () => {
    expect((await verifyBundle(tb.path, tb.publicKeyPath)).ok).toBe(true);
  });

  it('gives a byte-exact local copy of a tar member, checked against checksums.txt', async () => {
    const b = await openBundle(tarBundle.path);
    const p = await b.localPath('bin/tool');
    expect(await readFile(p, 'utf8')).toContain('palisade test tool');
    await b.close();
    await expect(readFile(p)).rejects.toThrow();
  });
});

describe('bundle verify refuses', () => {
  it('a missing file', async () => {
    const d = await copy();
    const blob = await someBlob(d);
    await unlink(join(d, blob));
    const r = await checkBundle(d, tb.publicKeyPem);
    expect(r.ok).toBe(false);
    const missing = r.problems.find((p) => p.code === 'bundle.missing-file');
    expect(missing?.path).toBe(blob);
    expect(missing?.message).toContain('listed in checksums.txt but missing');
  });

  it('a file whose digest does not match', async () => {
    const d = await copy();
    await appendFile(join(d, 'bin/tool'), 'echo evil\n');
    const r = await checkBundle(d, tb.publicKeyPem);
    const codes = r.problems.map((p) => p.code);
    expect(codes).toContain('bundle.digest-mismatch');
    expect(r.problems.find((p) => p.code === 'bundle.digest-mismatch')?.message).toMatch(/^bin\/tool: digest mismatch/);
  });

  it('a file that is not listed', async () => {
    const d = await copy();
    await writeFile(join(d, 'bin/extra'), 'not in the release');
    const r = await checkBundle(d, tb.publicKeyPem);
    expect(r.problems).toEqual([{ code: 'bundle.unlisted-file', path: 'bin/extra', message: 'bin/extra is in the bundle but not listed in checksums.txt' }]);
  });

  it('a missing signature', async () => {
    const d = await copy();
    await unlink(join(d, 'bundle.sig'));
    expect(await problems(d)).toEqual(['bundle.signature-missing']);
    await expect(verifyBundle(d, tb.publicKeyPem)).rejects.toMatchObject({ code: 'bundle.signature-missing' });
  });

  it('a bad signature (bundle.yaml edited after signing)', async () => {
    const d = await copy();
    const y = await readFile(join(d, 'bundle.yaml'), 'utf8');
    await writeFile(join(d, 'bundle.yaml'), y.replace('version: 1.0.0', 'version: 1.0.1'));
    expect(await problems(d)).toEqual(['bundle.signature-bad']);
  });

  it('a signature by a key that is not trusted', async () => {
    const other = generateSigningKey();
    const r = await checkBundle(tb.path, other.publicKeyPem);
    expect(r.problems.map((p) => p.code)).toEqual(['bundle.untrusted-key']);
    expect(r.problems[0]?.message).toContain(other.keyId);
  });

  it('checksums.txt changed to match a changed file', async () => {
    const d = await copy();
    await appendFile(join(d, 'bin/tool'), 'echo evil\n');
    const sums = parseChecksums(await readFile(join(d, 'checksums.txt'), 'utf8'));
    sums.set(
      'bin/tool',
      createHash('sha256')
        .update(await readFile(join(d, 'bin/tool')))
        .digest('hex'),
    );
    await writeFile(join(d, 'checksums.txt'), renderChecksums(sums));
    const codes = await problems(d);
    expect(codes).toContain('bundle.checksums-modified');
    expect(codes).toContain('bundle.digest-mismatch'); // bundle.yaml still names the old digest of bin/tool
  });

  it('an OCI blob whose content does not match its digest, even when checksums and signature were redone', async () => {
    const d = await copy();
    const blob = await someBlob(d);
    const data = await readFile(join(d, blob));
    data[data.length - 1] = (data[data.length - 1] ?? 0) ^ 0xff;
    await writeFile(join(d, blob), data);
    // an insider with the signing key re-signs the damaged content: the OCI check still catches it
    const sums = parseChecksums(await readFile(join(d, 'checksums.txt'), 'utf8'));
    sums.set(blob, createHash('sha256').update(data).digest('hex'));
    const sumsText = renderChecksums(sums);
    await writeFile(join(d, 'checksums.txt'), sumsText);
    const m = parseManifest(await readFile(join(d, 'bundle.yaml'), 'utf8'));
    m.checksums.sha256 = createHash('sha256').update(sumsText).digest('hex');
    const bytes = Buffer.from(renderManifest(m));
    await writeFile(join(d, 'bundle.yaml'), bytes);
    await writeFile(join(d, 'bundle.sig'), renderSignature(signManifest(bytes, createPrivateKey(await readFile(tb.privateKeyPath)))));
    const r = await checkBundle(d, tb.publicKeyPem);
    expect(r.problems.map((p) => p.code)).toContain('bundle.oci-blob-mismatch');
    expect(r.problems.every((p) => p.code.startsWith('bundle.oci-'))).toBe(true);
  });

  it('a symlink in a directory bundle pointing outside it', async () => {
    const d = await copy();
    await symlink('/etc/passwd', join(d, 'bin/passwd'));
    await expect(checkBundle(d, tb.publicKeyPem)).rejects.toMatchObject({
      code: 'bundle.path-escape',
      message: expect.stringContaining('pointing outside the bundle'),
    });
  });

  it('a tar entry with ".." or an absolute path, or a symlink out, or a hard link', async () => {
    const cases: Array<[string, Parameters<typeof makeTar>[1], string]> = [
      [
        'dotdot',
        [
          { name: 'bundle.yaml', data: 'x' },
          { name: 'bin/../../evil', data: 'x' },
        ],
        'bundle.path-escape',
      ],
      ['absolute', [{ name: '/etc/cron.d/evil', data: 'x' }], 'bundle.path-escape'],
      ['symlink', [{ name: 'bin/k3s', type: 'symlink', linkname: '../../../usr/bin/bash' }], 'bundle.path-escape'],
      ['hardlink', [{ name: 'bin/k3s', type: 'link', linkname: 'etc/shadow' }], 'bundle.unsupported-entry'],
    ];
    for (const [name, entries, code] of cases) {
      const f = join(work, `${name}.tar`);
      await makeTar(f, entries);
      let err: unknown;
      try {
        await checkBundle(f, tb.publicKeyPem);
      } catch (e) {
        err = e;
      }
      expect(isPalisadeError(err) && err.code, name).toBe(code);
    }
  });

  it('a tar holding the same path twice', async () => {
    const f = join(work, 'dup.tar');
    await makeTar(f, [
      { name: 'bin/k3s', data: 'good' },
      { name: 'bin/k3s', data: 'evil' },
    ]);
    await expect(openBundle(f)).rejects.toMatchObject({ code: 'bundle.duplicate-entry' });
  });

  it('a compressed tar, with a hint to decompress it', async () => {
    const f = join(work, 'bundle.tar.gz');
    await writeFile(f, gzipSync(await readFile(tarBundle.path)));
    await expect(checkBundle(f, tarBundle.publicKeyPem)).rejects.toMatchObject({ code: 'bundle.not-a-bundle', hint: expect.stringContaining('decompress') });
  });

  it('a damaged file inside a tar bundle', async () => {
    const f = join(work, 'damaged.tar');
    const data = await readFile(tarBundle.path);
    // flip one byte in the middle of the archive: inside some file's data
    const b = await openBundle(tarBundle.path);
    const entry = b.files.get('bin/tool');
    await b.close();
    data[(entry?.offset ?? 0) + 3] = (data[(entry?.offset ?? 0) + 3] ?? 0) ^ 0x20;
    await writeFile(f, data);
    const r = await checkBundle(f, tarBundle.publicKeyPem);
    expect(r.problems.map((p) => [p.code, p.path])).toContainEqual(['bundle.digest-mismatch', 'bin/tool']);
  });
});
