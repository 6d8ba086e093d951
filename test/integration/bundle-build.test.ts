import { createPrivateKey } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBundle } from '../../installer/bundle/build.ts';
import { parseChecksums } from '../../installer/bundle/checksums.ts';
import { openBundle } from '../../installer/bundle/open.ts';
import { generateSigningKey } from '../../installer/bundle/signing.ts';
import { loadSpec, parseSpec } from '../../installer/bundle/spec.ts';
import { verifyBundle } from '../../installer/bundle/verify.ts';
import { REPO_ROOT, TEST_SPEC, type TestBundle } from '../../scripts/bundle/build-test-bundle.ts';
import { buildExecutable } from '../../scripts/build/sea.mjs';
import { generateTestImages } from '../../scripts/bundle/test-images.ts';
import { smallBundle } from '../fixtures/bundle/small-bundle.ts';

const run = promisify(execFile);
let work: string;
let tb: TestBundle;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'palisade-bundle-build-'));
  tb = await smallBundle(join(work, 'small'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('bundle build', () => {
  it('writes checksums.txt sorted, listing every file but the three metadata files, that sha256sum -c accepts', async () => {
    const text = await readFile(join(tb.path, 'checksums.txt'), 'utf8');
    const sums = parseChecksums(text);
    const b = await openBundle(tb.path);
    expect([...b.files.keys()].filter((p) => !['bundle.yaml', 'bundle.sig', 'checksums.txt'].includes(p)).sort()).toEqual([...sums.keys()].sort());
    await b.close();
    const { stdout } = await run('sha256sum', ['-c', '--strict', 'checksums.txt'], { cwd: tb.path });
    expect(
      stdout
        .trim()
        .split('\n')
        .every((l) => l.endsWith(': OK')),
    ).toBe(true);
  });

  it('is reproducible: same inputs and time give the same bundle.yaml, checksums and tar bytes', async () => {
    const spec = await loadSpec(join(work, 'small', 'release.yaml'), { ...process.env, PALISADE_TEST_IMAGES: tb.imagesLayout });
    const key = createPrivateKey(await readFile(tb.privateKeyPath));
    const created = '2026-01-01T00:00:00.000Z';
    const a = await buildBundle({ spec, key, out: join(work, 'r1.tar'), created });
    const c = await buildBundle({ spec, key, out: join(work, 'r2.tar'), created });
    expect(a.manifest).toEqual(c.manifest);
    expect((await readFile(join(work, 'r1.tar'))).equals(await readFile(join(work, 'r2.tar')))).toBe(true);
    // the tar and the directory form hold the same files
    const d = await buildBundle({ spec, key, out: join(work, 'r3'), created });
    expect(d.manifest).toEqual(a.manifest);
    expect((await verifyBundle(join(work, 'r1.tar'), tb.publicKeyPem)).ok).toBe(true);
  });

  it('records binaries, files, images (with index) and packs in bundle.yaml', () => {
    const c = tb.build.manifest.components;
    expect(c.binaries).toEqual([expect.objectContaining({ name: 'tool', path: 'bin/tool', version: '0.1.0' })]);
    expect(c.files.map((f) => f.path)).toEqual(['files/k3s-values.yaml']);
    expect(c.images.map((i) => `${i.repository}:${i.tag}`)).toEqual([
      'palisade/test-app-0:1.0.0',
      'palisade/test-app-1:1.0.1',
      'palisade/test-multiarch:2.0.0',
    ]);
    expect(c.images.find((i) => i.repository === 'palisade/test-multiarch')?.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(c.packs.map((p) => `${p.repository}:${p.tag} ${p.layer}`)).toEqual(['packs/debian:12.7.0 os', 'packs/k3s:1.30.2 k8s']);
  });

  it('writes a CycloneDX 1.5 SBOM, valid against the schema, naming every component with its digest', async () => {
    const sbom = JSON.parse(await readFile(join(tb.path, 'sbom/bundle.cdx.json'), 'utf8')) as {
      components: Array<{ name: string; type: string; hashes: Array<{ content: string }> }>;
    };
    const dir = join(REPO_ROOT, 'test/fixtures/bundle/cyclonedx');
    const load = async (f: string): Promise<Record<string, unknown>> => JSON.parse(await readFile(join(dir, f), 'utf8')) as Record<string, unknown>;
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    // the BOM schema refers to these relative to its own $id
    for (const f of ['spdx.SNAPSHOT.schema.json', 'jsf-0.82.SNAPSHOT.schema.json']) {
      const { $id: _id, ...schema } = await load(f);
      ajv.addSchema(schema, `http://cyclonedx.org/schema/${f}`);
    }
    const validate = ajv.compile(await load('bom-1.5.SNAPSHOT.schema.json'));
    const ok = validate(sbom);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
    // a broken document is rejected by the same validator (the check can fail)
    expect(validate({ ...sbom, components: [{ type: 'not-a-type', name: 'x' }] })).toBe(false);
    const m = tb.build.manifest.components;
    expect(sbom.components.map((c) => `${c.type}:${c.name}`).sort()).toEqual([
      'application:tool',
      'container:palisade/test-app-0',
      'container:palisade/test-app-1',
      'container:palisade/test-multiarch',
      'data:debian',
      'data:k3s',
      'file:k3s-values.yaml',
    ]);
    expect(sbom.components.find((c) => c.name === 'tool')?.hashes[0]?.content).toBe(m.binaries[0]?.sha256);
    expect(sbom.components.find((c) => c.name === 'palisade/test-app-0')?.hashes[0]?.content).toBe(m.images[0]?.digest.slice(7));
  });

  it('refuses a source layout whose blob does not match its digest', async () => {
    const dir = join(work, 'bad-layout');
    const imgs = await generateTestImages({ dir, images: 1, layers: 2, layerSize: 4096, multiArch: false });
    const manifest = JSON.parse(await readFile(join(dir, 'blobs/sha256', imgs[0]?.digest.slice(7) as string), 'utf8')) as { layers: Array<{ digest: string }> };
    const layer = join(dir, 'blobs/sha256', manifest.layers[1]?.digest.slice(7) as string);
    const data = await readFile(layer);
    data[600] = (data[600] ?? 0) ^ 1;
    await writeFile(layer, data);
    const spec = parseSpec(`apiVersion: palisade/release/v1\nname: x\nversion: '1'\nimages:\n  - layout: ${dir}\n`, join(work, 'x.yaml'));
    await expect(buildBundle({ spec, key: createPrivateKey(generateSigningKey().privateKeyPem), out: join(work, 'never') })).rejects.toMatchObject({
      code: 'release.blob-mismatch',
    });
  });

  it('refuses unmet pack dependencies, naming the pack and the constraint', async () => {
    const spec = parseSpec(
      `apiVersion: palisade/release/v1\nname: x\nversion: '1'\npacks:\n  - dir: ${join(REPO_ROOT, 'images/packs/cilium')}\n`,
      join(work, 'x.yaml'),
    );
    await expect(buildBundle({ spec, key: createPrivateKey(generateSigningKey().privateKeyPem), out: join(work, 'never2') })).rejects.toMatchObject({
      code: 'release.pack-dependencies',
      details: [expect.objectContaining({ path: 'cilium@1.15.6', message: 'depends on k3s >=1.28.0 <1.31.0, which is not in the bundle' })],
    });
  });

  it('refuses to write into a non-empty directory', async () => {
    const out = join(work, 'occupied');
    await mkdir(out);
    await writeFile(join(out, 'x'), 'x');
    const spec = parseSpec(`apiVersion: palisade/release/v1\nname: x\nversion: '1'\n`, join(work, 'x.yaml'));
    await expect(buildBundle({ spec, key: createPrivateKey(generateSigningKey().privateKeyPem), out })).rejects.toMatchObject({ code: 'bundle.out-exists' });
  });
});

describe('release spec', () => {
  it('resolves paths against the spec file, ${VAR} paths against the working directory, and names binaries after their file', () => {
    const s = parseSpec(
      'apiVersion: palisade/release/v1\nname: n\nversion: v\nbinaries:\n  - source: ../bin/k3s\nimages:\n  - layout: ${IMGS}\n',
      '/srv/release/spec.yaml',
      { IMGS: 'cache/images' },
    );
    expect(s.spec.binaries[0]).toEqual({ source: '/srv/bin/k3s', name: 'k3s' });
    expect(s.spec.images[0]?.layout).toBe(join(process.cwd(), 'cache/images'));
  });

  it('says which variable is missing and which field is wrong', () => {
    expect(() => parseSpec('apiVersion: palisade/release/v1\nname: n\nversion: v\nimages:\n  - layout: ${NOPE}\n', '/x.yaml', {})).toThrow(
      /\$\{NOPE\} is not set/,
    );
    try {
      parseSpec('apiVersion: palisade/release/v1\nname: n\nversion: v\nbinaries:\n  - sauce: x\n', '/x.yaml', {});
      expect.unreachable();
    } catch (e) {
      expect((e as { details: Array<{ path: string }> }).details.map((d) => d.path)).toEqual(expect.arrayContaining(['binaries.0.source', 'binaries.0']));
    }
  });

  it('the committed test spec loads with the images variable set', async () => {
    const s = await loadSpec(TEST_SPEC, { PALISADE_TEST_IMAGES: '/tmp/x' });
    expect(s.spec.binaries.map((b) => b.name)).toEqual(['registry', 'k3s']);
    expect(s.spec.packs.length).toBe(5);
  });
});

describe('bundle CLI', () => {
  const cli = (args: string[]) =>
    run(process.execPath, [join(REPO_ROOT, 'installer/bin/palisade.js'), ...args]).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );

  it('keygen, build (with the single executable as bin/palisade), verify, inspect', async () => {
    const exe = await buildExecutable({ quiet: true });
    const key = join(work, 'cli', 'release.key');
    await mkdir(join(work, 'cli'));
    expect((await cli(['bundle', 'keygen', '--out', key])).code).toBe(0);
    const out = join(work, 'cli', 'b.tar');
    const env = { ...process.env, PALISADE_TEST_IMAGES: tb.imagesLayout };
    const b2 = await run(
      process.execPath,
      [join(REPO_ROOT, 'installer/bin/palisade.js'), 'bundle', 'build', '--spec', join(work, 'small', 'release.yaml'), '--key', key, '--out', out],
      { env },
    );
    expect(b2.stdout).toMatch(/^built .*b\.tar: small 1\.0\.0, 2 binaries, 1 files, 3 images, 2 packs/);
    expect(b2.stdout).toContain(`bin/palisade sha256 ${exe.sha256}`);
    const v = await cli(['bundle', 'verify', out, '--trusted-key', key.replace(/\.key$/, '.pub')]);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^OK .*signed by trusted key SHA256:/);
    // build and verify count the same files, and say which
    const built = /\((\d+) files in checksums\.txt \+ bundle\.sig, bundle\.yaml, checksums\.txt;/.exec(b2.stdout)?.[1];
    const verified = /, (\d+) files in checksums\.txt \(/.exec(v.stdout)?.[1];
    expect(built, b2.stdout).toBeDefined();
    expect(verified, v.stdout).toBe(built);
    const wrong = await cli(['bundle', 'verify', out, '--trusted-key', tb.publicKeyPath]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('error [bundle.untrusted-key]');
    expect(wrong.stderr).not.toContain('    at ');
    const i = await cli(['bundle', 'inspect', out]);
    expect(i.stdout).toContain('image (index)  palisade/test-multiarch');
    expect(i.stdout).toContain('pack (k8s)');
    expect(i.stdout).toMatch(new RegExp(`binary +bin/palisade +\\S+ +sha256:${exe.sha256.slice(0, 12)}`));
  });
});
