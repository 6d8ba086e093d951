import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPackArtifact, PACK_MT } from '../../installer/bundle/pack/artifact.ts';
import { dependencyProblems, loadPack, packTag, type PackJson } from '../../installer/bundle/pack/pack.ts';
import { compareSemver, parseConstraint, parseSemver, satisfies } from '../../installer/bundle/pack/semver.ts';
import { REPO_ROOT } from '../../scripts/bundle/build-test-bundle.ts';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'palisade-pack-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function packDir(name: string, files: Record<string, string>): Promise<string> {
  const d = join(work, name);
  for (const [p, c] of Object.entries(files)) {
    await mkdir(join(d, p, '..'), { recursive: true });
    await writeFile(join(d, p), c);
  }
  return d;
}

const good = { name: 'metallb', displayName: 'MetalLB', version: '0.14.5', layer: 'addon' };

describe('pack validation', () => {
  it('accepts every pack in images/packs', async () => {
    for (const p of ['debian', 'k3s', 'cilium', 'longhorn', 'ingress-nginx']) {
      const pack = await loadPack(join(REPO_ROOT, 'images/packs', p));
      expect(pack.meta.name).toBe(p);
    }
  });

  it('lists every problem of pack.json, values.yaml and manifests at once, with positions', async () => {
    const d = await packDir('bad', {
      'pack.json': JSON.stringify({ name: 'Bad_Name', version: '1.2', layer: 'network', extra: true, dependencies: [{ name: 'k3s', version: '>>1' }] }),
      'values.yaml': 'a: 1\nb: [1, 2\n',
      'manifests/ok.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n---\nkind: ConfigMap\n',
    });
    try {
      await loadPack(d);
      expect.unreachable();
    } catch (e) {
      const err = e as { code: string; exitCode: number; details: Array<{ path: string; message: string }> };
      expect(err.code).toBe('pack.invalid');
      expect(err.exitCode).toBe(2);
      const paths = err.details.map((x) => x.path);
      expect(paths).toEqual(
        expect.arrayContaining([
          'pack.json: name',
          'pack.json: displayName',
          'pack.json: version',
          'pack.json: layer',
          'pack.json: (top level)',
          'pack.json: dependencies[0].version',
          'manifests/ok.yaml (document 2)',
        ]),
      );
      expect(paths.some((p) => /^values\.yaml \(line \d+, column \d+\)$/.test(p))).toBe(true);
      expect(err.details.find((x) => x.path === 'pack.json: displayName')?.message).toBe('is required');
    }
  });

  it('requires pack.json and values.yaml, and refuses symlinks', async () => {
    const d = await packDir('empty', { 'README.md': 'x' });
    await expect(loadPack(d)).rejects.toMatchObject({
      details: [expect.objectContaining({ path: 'pack.json', message: 'is missing' }), expect.objectContaining({ path: 'values.yaml', message: 'is missing' })],
    });
    const s = await packDir('link', { 'pack.json': JSON.stringify(good), 'values.yaml': '{}' });
    await symlink('/etc/hostname', join(s, 'hostname'));
    await expect(loadPack(s)).rejects.toMatchObject({ details: [expect.objectContaining({ path: 'hostname', message: expect.stringContaining('symlink') })] });
  });
});

describe('pack artifact', () => {
  it('is deterministic and uses the pack media types; the content layer holds the pack files', async () => {
    const d = await packDir('metallb', {
      'pack.json': JSON.stringify(good),
      'values.yaml': 'speaker: {enabled: true}\n',
      'manifests/pool.yaml': 'apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\n',
    });
    const a = await buildPackArtifact(await loadPack(d));
    const b = await buildPackArtifact(await loadPack(d));
    expect(a.manifest.digest).toBe(b.manifest.digest);
    expect(a.repository).toBe('packs/metallb');
    expect(a.tag).toBe('0.14.5');
    const m = JSON.parse(a.manifestBytes.toString()) as {
      artifactType: string;
      config: { mediaType: string; digest: string };
      layers: Array<{ mediaType: string; digest: string }>;
    };
    expect(m.artifactType).toBe(PACK_MT.artifact);
    expect(m.config.mediaType).toBe(PACK_MT.config);
    expect(JSON.parse(a.blobs.get(m.config.digest)?.toString() ?? '')).toMatchObject(good);
    const tarText = gunzipSync(a.blobs.get(m.layers[0]?.digest as string) as Buffer).toString('latin1');
    for (const f of ['manifests/pool.yaml', 'pack.json', 'values.yaml']) expect(tarText).toContain(f);
  });

  it('maps "+" in a version to "_" in the tag', () => {
    expect(packTag('1.30.2+k3s1')).toBe('1.30.2_k3s1');
  });
});

describe('semver and constraints', () => {
  const ok = (v: string, c: string): boolean => satisfies(v, parseConstraint(c) ?? { sets: [], text: c });
  it('orders versions, pre-releases below releases', () => {
    const sorted = ['1.0.0', '1.0.0-rc.1', '1.0.0-alpha', '0.9.9', '1.0.0-rc.10', '1.0.0-rc.2'].sort((a, b) => compareSemver(parseSemver(a)!, parseSemver(b)!));
    expect(sorted).toEqual(['0.9.9', '1.0.0-alpha', '1.0.0-rc.1', '1.0.0-rc.2', '1.0.0-rc.10', '1.0.0']);
    expect(parseSemver('1.2')).toBeUndefined();
    expect(parseSemver('01.2.3')).toBeUndefined();
  });
  it('evaluates ranges, caret, tilde, x-ranges and alternatives', () => {
    expect(ok('1.29.3', '>=1.28.0 <1.31.0')).toBe(true);
    expect(ok('1.31.0', '>=1.28.0 <1.31.0')).toBe(false);
    expect(ok('1.9.0', '^1.2')).toBe(true);
    expect(ok('2.0.0', '^1.2')).toBe(false);
    expect(ok('0.2.5', '^0.2.3')).toBe(true);
    expect(ok('0.3.0', '^0.2.3')).toBe(false);
    expect(ok('1.15.9', '~1.15.0')).toBe(true);
    expect(ok('1.16.0', '~1.15.0')).toBe(false);
    expect(ok('1.2.7', '1.2.x')).toBe(true);
    expect(ok('1.3.0', '1.2.x')).toBe(false);
    expect(ok('3.0.0', '^1.0.0 || ^3.0.0')).toBe(true);
    expect(ok('5.0.0', '*')).toBe(true);
    expect(ok('1.3.0-rc.1', '>=1.2.0')).toBe(false);
    expect(ok('1.3.0-rc.2', '>=1.3.0-rc.1')).toBe(true);
    expect(parseConstraint('>>1')).toBeUndefined();
  });
  it('reports unmet and missing dependencies', () => {
    const p = (name: string, version: string, deps: Array<[string, string]> = []): PackJson => ({
      name,
      displayName: name,
      version,
      layer: 'addon',
      dependencies: deps.map(([n, v]) => ({ name: n, version: v })),
    });
    expect(dependencyProblems([p('k3s', '1.30.2'), p('cilium', '1.15.6', [['k3s', '>=1.28.0 <1.31.0']])])).toEqual([]);
    expect(
      dependencyProblems([p('k3s', '1.31.0'), p('cilium', '1.15.6', [['k3s', '>=1.28.0 <1.31.0']]), p('x', '1.0.0', [['longhorn', '^1']])]).map(
        (d) => d.message,
      ),
    ).toEqual(['depends on k3s >=1.28.0 <1.31.0, but the bundle has 1.31.0', 'depends on longhorn ^1, which is not in the bundle']);
  });
});
