import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBundle } from '../../installer/bundle/open.ts';
import { checkBundle } from '../../installer/bundle/verify.ts';
import type { TestBundle } from '../../scripts/bundle/build-test-bundle.ts';
import { smallBundle } from '../fixtures/bundle/small-bundle.ts';
import { failure } from '../fixtures/errors.ts';
import { palisade } from '../fixtures/pki/cli.ts';

/**
 * Damaged bundles an operator may really meet (a copy cut short, a crafted
 * bundle.yaml) are refused in one line with exit 1: never a stack trace, never
 * "internal error".
 */
let work: string;
let tb: TestBundle;
let dirBundle: TestBundle;
let pub: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'palisade-bundle-refusals-'));
  tb = await smallBundle(join(work, 'tar'), { tar: true });
  dirBundle = await smallBundle(join(work, 'dir'));
  pub = join(work, 'trusted.pub');
  await writeFile(pub, tb.publicKeyPem);
}, 120_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function verifyCli(bundle: string, key = pub): Promise<{ code: number; stderr: string; stdout: string }> {
  return palisade(['bundle', 'verify', bundle, '--trusted-key', key], { cwd: work });
}

function expectOneLineRefusal(r: { code: number; stderr: string }, code: string): void {
  expect(r.code).toBe(1);
  const lines = r.stderr.trim().split('\n');
  expect(lines[0]).toMatch(new RegExp(`^error \\[${code.replace('.', '\\.')}\\]: `));
  // the message and at most a hint: no stack frames, no "internal error"
  expect(lines.length).toBeLessThanOrEqual(2);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stderr).not.toMatch(/internal error|Unexpected end of data/);
}

async function bundleWithManifestOf(size: number, asTar: boolean): Promise<string> {
  const text = `apiVersion: palisade/bundle/v1\n# ${'x'.repeat(size)}\n`;
  if (!asTar) {
    const d = join(work, `big-manifest-dir-${size}`);
    await cp(dirBundle.path, d, { recursive: true });
    await writeFile(join(d, 'bundle.yaml'), text);
    return d;
  }
  const f = join(work, `big-manifest-${size}.tar`);
  const p = tar.pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((r) => p.on('end', () => r()));
  p.entry({ name: 'bundle.yaml' }, text);
  p.finalize();
  await done;
  await writeFile(f, Buffer.concat(chunks));
  return f;
}

describe('bundle verify refuses in one line, exit 1', () => {
  it('a tar bundle cut short in the middle of a file, or of a header', async () => {
    const data = await readFile(tb.path);
    const b = await openBundle(tb.path);
    const entry = b.files.get('bin/tool');
    await b.close();
    const offset = entry?.offset ?? 0;
    // inside bin/tool's data, inside the header block before it, and in the middle of the archive
    for (const cut of [offset + 10, offset - 300, Math.floor(data.length / 2) + 7]) {
      const f = join(work, `cut-${cut}.tar`);
      await writeFile(f, data.subarray(0, cut));
      const r = await verifyCli(f);
      expectOneLineRefusal(r, 'bundle.not-a-bundle');
      expect(r.stderr).toContain('truncated');
    }
  });

  it('a bundle.yaml far over any real size, in a tar and in a directory', async () => {
    for (const asTar of [true, false]) {
      const r = await verifyCli(await bundleWithManifestOf(5 << 20, asTar));
      expectOneLineRefusal(r, 'bundle.file-too-large');
      expect(r.stderr).toContain('bundle.yaml');
    }
  });

  it('a bundle.yaml over the size limit is refused before it is parsed (the API says which file)', async () => {
    const e = await failure(checkBundle(await bundleWithManifestOf(5 << 20, true), tb.publicKeyPem));
    expect(e.code).toBe('bundle.file-too-large');
    const e2 = await failure(openBundle(await bundleWithManifestOf(5 << 20, false)));
    expect(e2.message).toContain('bundle.yaml');
  });
});
