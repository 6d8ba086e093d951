import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobFromPublicKeyLine, fingerprintOf, keyTypeOf } from '../../installer/hosts/fingerprint.ts';
import { hostsFieldMatches, lookupKnownHosts, parseKnownHosts, type KnownHostsFile } from '../../installer/hosts/known-hosts.ts';
import { decideHostKey, hostKeyError } from '../../installer/hosts/trust.ts';

const dir = mkdtempSync(join(tmpdir(), 'palisade-hostkeys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Kind = 'ed25519' | 'rsa' | 'ecdsa';
const keys: Record<string, { pub: string; blob: Buffer; path: string }> = {};
function key(name: string, type: Kind = 'ed25519') {
  if (!keys[name]) {
    const path = join(dir, name);
    execFileSync('ssh-keygen', ['-q', '-t', type, ...(type === 'rsa' ? ['-b', '2048'] : []), '-N', '', '-f', path], { stdio: 'ignore' });
    const pub = readFileSync(`${path}.pub`, 'utf8').trim();
    keys[name] = { pub, blob: blobFromPublicKeyLine(pub)!, path };
  }
  return keys[name]!;
}
const typeAndKey = (name: string) => key(name).pub.split(' ').slice(0, 2).join(' ');
const keygenFingerprint = (path: string) => execFileSync('ssh-keygen', ['-lf', path], { encoding: 'utf8' }).split(' ')[1];

describe('fingerprints', () => {
  it.each<[Kind]>([['ed25519'], ['rsa'], ['ecdsa']])('%s: same as ssh-keygen -lf', (type) => {
    const k = key(`fp-${type}`, type);
    expect(fingerprintOf(k.blob)).toBe(keygenFingerprint(`${k.path}.pub`));
    expect(fingerprintOf(k.blob)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(keyTypeOf(k.blob)).toBe(k.pub.split(' ')[0]);
  });

  it('rejects a public key line whose blob does not match its type', () => {
    const [, b64] = key('fp-ed25519').pub.split(' ');
    expect(blobFromPublicKeyLine(`ssh-rsa ${b64}`)).toBeUndefined();
    expect(blobFromPublicKeyLine('ssh-ed25519 not*base64')).toBeUndefined();
  });
});

describe('known_hosts, checked against ssh-keygen -F on plain and hashed (ssh-keygen -H) files', () => {
  let plainPath: string;
  let hashedPath: string;
  beforeAll(() => {
    key('ca', 'ecdsa');
    const lines = [
      '# operator known_hosts',
      `host1.lab ${typeAndKey('a')}`,
      `[10.0.0.5]:2222 ${typeAndKey('b')} comment here`,
      `h2,10.0.0.6 ${typeAndKey('c')}`,
      `*.lab,!bad.lab ${typeAndKey('d')}`,
      `@cert-authority *.ca.lab ${typeAndKey('ca')}`,
      `@revoked * ${typeAndKey('r')}`,
    ];
    const unreadable = ['garbage line', `@bogus-marker x ${typeAndKey('a')}`, `10.0.0.7 ssh-rsa ${key('a').pub.split(' ')[1]}`];
    plainPath = join(dir, 'known_hosts');
    writeFileSync(plainPath, [...lines, ...unreadable].join('\n') + '\n');
    hashedPath = join(dir, 'known_hosts.hashed');
    // ssh-keygen -H refuses a file with unreadable lines
    writeFileSync(hashedPath, lines.join('\n') + '\n');
    execFileSync('ssh-keygen', ['-q', '-H', '-f', hashedPath], { stdio: 'ignore' });
  });

  const queries: Array<[string, number]> = [
    ['host1.lab', 22],
    ['host1.lab', 2222],
    ['10.0.0.5', 2222],
    ['10.0.0.5', 22],
    ['h2', 22],
    ['10.0.0.6', 22],
    ['x.lab', 22],
    ['bad.lab', 22],
    ['web.ca.lab', 22],
    ['HOST1.LAB', 22],
    ['unrelated', 22],
  ];

  /** the lines ssh-keygen -F reports for a host */
  const oracle = (file: string, host: string, port: number): Set<string> => {
    let out = '';
    try {
      out = execFileSync('ssh-keygen', ['-F', port === 22 ? host : `[${host}]:${port}`, '-f', file], { encoding: 'utf8' });
    } catch {
      // exit 1: not found
    }
    return new Set(
      out
        .split('\n')
        .filter((l) => l && !l.startsWith('#'))
        .map((l) => l.trim()),
    );
  };

  it.each(['plain', 'hashed'])('%s file: every lookup matches the same lines as ssh-keygen -F', (which) => {
    const path = which === 'plain' ? plainPath : hashedPath;
    const text = readFileSync(path, 'utf8');
    const file = parseKnownHosts(text, path);
    const lines = text.split('\n');
    let hits = 0;
    for (const [host, port] of queries) {
      const r = lookupKnownHosts([file], host, port);
      const ours = new Set([...r.keys, ...r.cas, ...r.revoked].map((e) => lines[e.line - 1]!.trim()));
      expect([...ours].sort(), `${host}:${port}`).toEqual([...oracle(path, host, port)].sort());
      hits += ours.size;
    }
    expect(hits).toBeGreaterThan(15);
  });

  it('hashed file: the hashed names still match, markers kept, wildcards left as written', () => {
    const file = parseKnownHosts(readFileSync(hashedPath, 'utf8'));
    expect(file.entries.filter((e) => e.hosts.startsWith('|1|')).length).toBeGreaterThanOrEqual(4);
    const h1 = lookupKnownHosts([file], 'host1.lab', 22);
    expect(h1.keys.map((e) => fingerprintOf(e.key))).toContain(fingerprintOf(key('a').blob));
    const p = lookupKnownHosts([file], '10.0.0.5', 2222);
    expect(p.keys.map((e) => fingerprintOf(e.key))).toEqual([fingerprintOf(key('b').blob)]);
    expect(lookupKnownHosts([file], '10.0.0.5', 22).keys).toEqual([]);
  });

  it('skips lines it cannot read, and a key whose type field lies', () => {
    const file = parseKnownHosts(readFileSync(plainPath, 'utf8'));
    expect(file.skipped).toEqual([8, 9, 10]);
    expect(file.entries.find((e) => e.marker === 'cert-authority')?.keyType).toBe('ecdsa-sha2-nistp256');
    expect(file.entries.find((e) => e.marker === 'revoked')?.hosts).toBe('*');
  });

  it('pattern rules: negation wins, ? and * wildcards, case-insensitive names', () => {
    expect(hostsFieldMatches('*.lab,!bad.lab', 'bad.lab', 22)).toBe(false);
    expect(hostsFieldMatches('!bad.lab', 'good.lab', 22)).toBe(false);
    expect(hostsFieldMatches('host?', 'host7', 22)).toBe(true);
    expect(hostsFieldMatches('host?', 'host77', 22)).toBe(false);
    expect(hostsFieldMatches('[10.0.0.*]:2222', '10.0.0.9', 2222)).toBe(true);
    expect(hostsFieldMatches('10.0.0.9', '10.0.0.9', 2222)).toBe(false);
    expect(hostsFieldMatches('host.lab', 'HOST.lab', 22)).toBe(true);
  });
});

describe('pinning decisions', () => {
  const q = { name: 'host1', address: '10.0.0.11', port: 22 };
  const kh = (lines: string[]): KnownHostsFile[] => [parseKnownHosts(lines.join('\n'))];

  it('a matching pin is trusted; any other key is a change naming both fingerprints', () => {
    const a = key('a').blob;
    const b = key('b').blob;
    expect(decideHostKey({ ...q, pinned: fingerprintOf(a) }, a)).toMatchObject({ ok: true, source: 'pin' });
    const d = decideHostKey({ ...q, pinned: fingerprintOf(a), pinPath: 'hosts[0].hostKey' }, b);
    expect(d).toMatchObject({ ok: false, reason: 'changed', fingerprint: fingerprintOf(b), expected: [fingerprintOf(a)] });
    const e = hostKeyError(q, d as Extract<typeof d, { ok: false }>);
    expect(e.code).toBe('ssh.hostkey-changed');
    expect(e.message).toContain(fingerprintOf(a));
    expect(e.message).toContain(fingerprintOf(b));
    expect(e.message).toMatch(/CHANGED/);
  });

  it('a near-miss pin is a change: a prefix of the fingerprint, one character off, one more, another case', () => {
    const a = key('a').blob;
    const fp = fingerprintOf(a);
    const last = fp.at(-1) as string;
    const nearMisses = [
      fp.slice(0, -1),
      fp.slice(0, 'SHA256:'.length + 8),
      'SHA256:',
      `${fp.slice(0, -1)}${last === 'A' ? 'B' : 'A'}`,
      `${fp}A`,
      fp.replace(/[a-z]/, (c) => c.toUpperCase()),
    ];
    expect(new Set(nearMisses).size).toBe(nearMisses.length);
    for (const pinned of nearMisses) {
      expect(pinned).not.toBe(fp);
      expect(decideHostKey({ ...q, pinned }, a), pinned).toMatchObject({ ok: false, reason: 'changed', expected: [pinned] });
    }
    expect(decideHostKey({ ...q, pinned: fp }, a)).toMatchObject({ ok: true, source: 'pin' });
  });

  it('the pin wins over known_hosts: known_hosts cannot widen a pin', () => {
    const a = key('a').blob;
    const b = key('b').blob;
    const d = decideHostKey({ ...q, pinned: fingerprintOf(a) }, b, kh([`10.0.0.11 ${typeAndKey('b')}`]));
    expect(d).toMatchObject({ ok: false, reason: 'changed' });
  });

  it('a revoked key is refused even when pinned', () => {
    const r = key('r').blob;
    const d = decideHostKey({ ...q, pinned: fingerprintOf(r) }, r, kh([`@revoked * ${typeAndKey('r')}`]));
    expect(d).toMatchObject({ ok: false, reason: 'revoked' });
    expect(hostKeyError(q, d as Extract<typeof d, { ok: false }>).code).toBe('ssh.hostkey-revoked');
  });

  it('known_hosts: same key trusted; a different key of the same type is a change; another type only is unknown', () => {
    const a = key('a').blob;
    const c = key('c').blob;
    const ec = key('ca', 'ecdsa');
    expect(decideHostKey(q, a, kh([`10.0.0.11 ${typeAndKey('a')}`]))).toMatchObject({ ok: true, source: 'known_hosts' });
    expect(decideHostKey(q, c, kh([`10.0.0.11 ${typeAndKey('a')}`]))).toMatchObject({ ok: false, reason: 'changed', expected: [fingerprintOf(a)] });
    expect(decideHostKey(q, c, kh([`10.0.0.11 ${ec.pub}`]))).toMatchObject({ ok: false, reason: 'unknown' });
    // a key for another port does not count
    expect(decideHostKey(q, a, kh([`[10.0.0.11]:2222 ${typeAndKey('a')}`]))).toMatchObject({ ok: false, reason: 'unknown' });
  });

  it('an unknown key: the error shows the fingerprint and how to pin it', () => {
    const a = key('a').blob;
    const d = decideHostKey({ ...q, pinPath: 'hosts[0].hostKey' }, a);
    expect(d).toMatchObject({ ok: false, reason: 'unknown' });
    const e = hostKeyError({ ...q, pinPath: 'hosts[0].hostKey' }, d as Extract<typeof d, { ok: false }>);
    expect(e.code).toBe('ssh.hostkey-unknown');
    expect(e.message).toContain(fingerprintOf(a));
    expect(e.hint).toContain('palisade hosts trust');
    expect(e.hint).toContain(`hosts[0].hostKey: "${fingerprintOf(a)}"`);
  });

  it('@cert-authority: trusted only with a certificate for this very key from a listed CA', () => {
    const a = key('a').blob;
    const ca = fingerprintOf(key('ca', 'ecdsa').blob);
    const file = kh([`@cert-authority 10.0.0.* ${typeAndKey('ca')}`]);
    expect(decideHostKey(q, a, file, { caFingerprint: ca, key: a })).toMatchObject({ ok: true, source: 'cert-authority' });
    expect(decideHostKey(q, a, file, { caFingerprint: ca, key: key('b').blob })).toMatchObject({ ok: false, reason: 'unknown' });
    expect(decideHostKey(q, a, file, { caFingerprint: fingerprintOf(key('d').blob), key: a })).toMatchObject({ ok: false, reason: 'unknown' });
    const d = decideHostKey(q, a, file);
    expect(d).toMatchObject({ ok: false, reason: 'unknown' });
    expect(d.detail).toMatch(/cert-authority/);
  });
});
