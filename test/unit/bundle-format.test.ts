import { createPrivateKey, createPublicKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseChecksums, renderChecksums } from '../../installer/bundle/checksums.ts';
import { bundlePathProblem, normalizeBundlePath, symlinkEscapes } from '../../installer/bundle/paths.ts';
import { generateSigningKey, keyFingerprint, parseSignature, renderSignature, signManifest, signatureValid } from '../../installer/bundle/signing.ts';
import { parseImageRef } from '../../installer/bundle/oci.ts';
import { parseManifest } from '../../installer/bundle/manifest.ts';
import { renderRegistryConfig, renderRegistryUnit } from '../../installer/registry/config.ts';
import { htpasswdLine, htpasswdMatches } from '../../installer/pki/htpasswd.ts';
import { progressLine } from '../../installer/registry/progress.ts';
import { parse } from 'yaml';

const h = (c: string): string => c.repeat(64);

describe('bundle paths', () => {
  it('refuses paths that leave the bundle', () => {
    for (const p of ['/etc/passwd', '../x', 'a/../../x', 'a/..', 'a\\b', 'C:/x', '', 'a//b', './a', 'a/./b', 'a\0b'])
      expect(bundlePathProblem(p), p).toBeDefined();
    for (const p of ['bin/k3s', 'images/blobs/sha256/' + h('a'), 'a..b/c', '.hidden']) expect(bundlePathProblem(p), p).toBeUndefined();
    expect(normalizeBundlePath('./bin/k3s')).toBe('bin/k3s');
  });
  it('knows when a symlink target escapes', () => {
    expect(symlinkEscapes('bin/k3s', '../../etc/passwd')).toBe(true);
    expect(symlinkEscapes('bin/k3s', '/usr/bin/k3s')).toBe(true);
    expect(symlinkEscapes('bin/k3s', '../images/x')).toBe(false);
    expect(symlinkEscapes('k3s', '../x')).toBe(true);
  });
});

describe('checksums.txt', () => {
  it('renders sorted sha256sum lines and parses them back', () => {
    const text = renderChecksums(
      new Map([
        ['b', h('b')],
        ['a/z', h('a')],
        ['B', h('c')],
      ]),
    );
    expect(text).toBe(`${h('c')}  B\n${h('a')}  a/z\n${h('b')}  b\n`);
    expect([...parseChecksums(text)]).toEqual([
      ['B', h('c')],
      ['a/z', h('a')],
      ['b', h('b')],
    ]);
  });
  it('refuses unsorted, duplicate, malformed, escaping or self-listing lines', () => {
    const bad: Array<[string, RegExp | string]> = [
      [`${h('a')}  b\n${h('a')}  a\n`, 'not sorted'],
      [`${h('a')}  a\n${h('a')}  a\n`, 'listed twice'],
      [`${h('a')} a\n`, 'expected'],
      [`${h('a')}  ../x\n`, 'bundle.path-escape'],
      [`${h('a')}  bundle.yaml\n`, 'must not be listed'],
      [`${h('a')}  a`, 'newline'],
    ];
    for (const [text, want] of bad) {
      try {
        parseChecksums(text);
        expect.unreachable(text);
      } catch (e) {
        const err = e as { code: string; message: string };
        expect(`${err.code} ${err.message}`).toMatch(want);
      }
    }
  });
});

describe('signatures', () => {
  it('sign, render, parse and verify; a changed byte or another key fails', () => {
    const k = generateSigningKey();
    const data = Buffer.from('name: x\nversion: 1\n');
    const sig = parseSignature(renderSignature(signManifest(data, createPrivateKey(k.privateKeyPem))));
    const pub = createPublicKey(k.publicKeyPem);
    expect(sig.keyId).toBe(k.keyId);
    expect(keyFingerprint(pub)).toBe(k.keyId);
    expect(signatureValid(data, sig, pub)).toBe(true);
    expect(signatureValid(Buffer.from('name: x\nversion: 2\n'), sig, pub)).toBe(false);
    expect(signatureValid(data, sig, createPublicKey(generateSigningKey().publicKeyPem))).toBe(false);
    expect(() => parseSignature('garbage')).toThrow(/malformed/);
  });
});

describe('bundle.yaml and image references', () => {
  it('rejects unknown fields with their path', () => {
    expect(() => parseManifest('apiVersion: palisade/bundle/v1\nname: x\n')).toThrow(/does not match the bundle format/);
  });
  it('parses repository:tag', () => {
    expect(parseImageRef('palisade/app:1.0.0')).toEqual({ repository: 'palisade/app', tag: '1.0.0' });
    expect(() => parseImageRef('app')).toThrow();
    expect(() => parseImageRef('Upper/app:1')).toThrow(/repository/);
    expect(() => parseImageRef('localhost:5000/app')).toThrow();
  });
});

describe('registry service files', () => {
  it('config: TLS, htpasswd, storage root, delete disabled', () => {
    const cfg = parse(
      renderRegistryConfig({
        addr: ':5000',
        storageDir: '/var/lib/palisade/registry',
        certFile: '/c',
        keyFile: '/k',
        htpasswdFile: '/h',
        httpSecret: 's3cret-s3cret-s3cret',
      }),
    ) as Record<string, any>;
    expect(cfg.storage.filesystem.rootdirectory).toBe('/var/lib/palisade/registry');
    expect(cfg.storage.delete.enabled).toBe(false);
    expect(cfg.http.tls).toEqual({ certificate: '/c', key: '/k', minimumtls: 'tls1.2' });
    expect(cfg.auth).toEqual({ htpasswd: { realm: 'palisade-registry', path: '/h' } });
    expect(cfg.http.secret).toBe('s3cret-s3cret-s3cret');
  });
  it('unit: runs as its own user, only the storage dir writable; low ports get the one capability', () => {
    const u = renderRegistryUnit({
      binary: '/usr/local/lib/palisade/registry',
      config: '/etc/palisade/registry/config.yml',
      storageDir: '/data/registry',
      user: 'palisade-registry',
      port: 5000,
    });
    expect(u).toContain('ExecStart=/usr/local/lib/palisade/registry serve /etc/palisade/registry/config.yml');
    expect(u).toContain('User=palisade-registry');
    expect(u).toContain('ReadWritePaths=/data/registry');
    expect(u).toContain('RequiresMountsFor=/data/registry');
    expect(u).toMatch(/^CapabilityBoundingSet=$/m);
    expect(renderRegistryUnit({ binary: '/b', config: '/c', storageDir: '/d', user: 'u', port: 443 })).toContain('AmbientCapabilities=CAP_NET_BIND_SERVICE');
  });
  it('htpasswd lines are bcrypt and check out', () => {
    const line = htpasswdLine('seeder', 'pw with spaces', 4);
    expect(line).toMatch(/^seeder:\$2[aby]\$04\$/);
    expect(htpasswdMatches(line, 'seeder', 'pw with spaces')).toBe(true);
    expect(htpasswdMatches(line, 'seeder', 'other')).toBe(false);
    expect(() => htpasswdLine('a:b', 'x')).toThrow();
  });
});

describe('seed progress line', () => {
  it('shows blobs, bytes, percent, rate and time left', () => {
    const p = {
      phase: 'blobs' as const,
      blobsDone: 3,
      blobsTotal: 10,
      bytesDone: 50 << 20,
      bytesTotal: 200 << 20,
      manifestsDone: 0,
      manifestsTotal: 4,
      startedAt: 0,
    };
    expect(progressLine(p, 10_000)).toBe('seed: blobs the registry lacks 3/10, 50.0 MiB of 200.0 MiB 25% at 5.0 MiB/s, ~30 s left');
    expect(progressLine({ ...p, phase: 'done' }, 10_000)).toBe('seed: done, 50.0 MiB uploaded in 10.0 s (5.0 MiB/s)');
  });
});
