import { describe, expect, it } from 'vitest';
import { compareDebVersions, parseDebVersion } from '../../installer/hardening/debversion.ts';
import { parsePackagesIndex, renderPackagesIndex, type PackageEntry } from '../../installer/hardening/patch/index.ts';
import { planPatches } from '../../installer/hardening/patch/plan.ts';
import { parseInstalled } from '../../installer/hardening/patch/run.ts';

describe('Debian version ordering', () => {
  // each pair: a < b, as `dpkg --compare-versions a lt b`
  const lt: Array<[string, string]> = [
    ['1.0~rc1', '1.0'], // a tilde sorts before the end
    ['1.0~~', '1.0~'],
    ['1.0~~a', '1.0~'],
    ['1.0', '1.0a'],
    ['1.0', '1.0+b1'],
    ['1.0-1~bpo1', '1.0-1'],
    ['1.0-9', '1.0-10'], // digits compare as numbers
    ['9.9', '10.0'],
    ['1.0a', '1.0.1'], // letters before other characters
    ['1.0-1', '1.0-1.1'],
    ['1.0-1', '1.0-1a'],
    ['2.4.52-1+deb12u1', '2.4.52-1+deb12u2'],
    ['9.2p1-2+deb12u9', '1:9.2p1-2+deb12u3'], // any epoch beats none
    ['1:9.2p1-2+deb12u3', '1:9.2p1-2+deb12u5'],
    ['1.0', '1.0-1'], // no revision is before revision 1... as dpkg has it
    ['0.17+20210315', '0.18'],
    ['1.2.3+dfsg-4~deb12u1', '1.2.3+dfsg-4'],
  ];
  it.each(lt)('%s < %s', (a, b) => {
    expect(compareDebVersions(a, b)).toBe(-1);
    expect(compareDebVersions(b, a)).toBe(1);
  });
  it('equal versions: leading zeros, an explicit epoch 0, the same string', () => {
    expect(compareDebVersions('1.00', '1.0')).toBe(0);
    expect(compareDebVersions('0:1.0', '1.0')).toBe(0);
    expect(compareDebVersions('2:1.0-3', '2:1.0-3')).toBe(0);
  });
  it('epoch, upstream and revision are split as dpkg does (the last hyphen starts the revision)', () => {
    expect(parseDebVersion('1:2.3-4-5')).toEqual({ epoch: 1, upstream: '2.3-4', revision: '5' });
    expect(parseDebVersion('2.3')).toEqual({ epoch: 0, upstream: '2.3', revision: '' });
  });
});

const entry = (name: string, version: string, architecture = 'all'): PackageEntry => ({
  name,
  version,
  architecture,
  filename: `packages/${name}_${version}_${architecture}.deb`,
  sha256: 'a'.repeat(64),
  size: 10,
});

describe('the Packages index', () => {
  it('round-trips, with continuation lines and several stanzas', () => {
    const set = [
      entry('openssl', '3.0.15-1~deb12u1', 'amd64'),
      { ...entry('tzdata', '2025b-0+deb12u1'), depends: 'debconf (>= 0.5) | debconf-2.0', description: 'time zone data' },
    ];
    expect(parsePackagesIndex(renderPackagesIndex(set))).toEqual(set);
    const text = 'Package: xy\nVersion: 1\nFilename: packages/x.deb\nSHA256: ' + 'B'.repeat(64) + '\nDescription: short\n more text\n';
    expect(parsePackagesIndex(text)[0]).toMatchObject({ name: 'xy', sha256: 'b'.repeat(64), description: 'short', architecture: 'all' });
  });
  it('refuses an entry that points outside the package set, or lacks its digest', () => {
    expect(() => parsePackagesIndex('Package: xy\nVersion: 1\nFilename: ../../etc/passwd\nSHA256: ab\n')).toThrow(/outside the package set/);
    expect(() => parsePackagesIndex('Package: xy\nVersion: 1\nFilename: packages/x.deb\n')).toThrow(/lacks SHA256/);
  });
});

describe('which packages a host takes', () => {
  const installed = new Map([
    ['openssl', '3.0.13-1~deb12u1'],
    ['tzdata', '2025b-0+deb12u1'],
    ['libc6', '2.36-9+deb12u9'],
  ]);
  it('newer versions of installed packages only; older, equal and not-installed ones are left', () => {
    const p = planPatches(installed, 'amd64', [
      entry('openssl', '3.0.15-1~deb12u1', 'amd64'),
      entry('tzdata', '2024a-0+deb12u1'),
      entry('libc6', '2.36-9+deb12u9', 'amd64'),
      entry('telnet', '0.17+2.4-2'),
    ]);
    expect(p.upgrades.map((u) => `${u.name} ${u.from} -> ${u.to}`)).toEqual(['openssl 3.0.13-1~deb12u1 -> 3.0.15-1~deb12u1']);
    expect(p.current.map((c) => c.name)).toEqual(['libc6', 'tzdata']);
  });
  it('the newest of several versions in the set, for this architecture only', () => {
    const p = planPatches(installed, 'amd64', [
      entry('openssl', '3.0.14-1~deb12u1', 'amd64'),
      entry('openssl', '3.0.16-1~deb12u1', 'arm64'),
      entry('openssl', '3.0.15-1~deb12u1', 'amd64'),
    ]);
    expect(p.upgrades.map((u) => u.to)).toEqual(['3.0.15-1~deb12u1']);
  });
  it("reads what dpkg says is installed, and Debian's reboot request", () => {
    const r = parseInstalled('amd64\nopenssl 3.0.13-1~deb12u1 ii \ntelnet 0.17 rc \nlibc6:amd64 2.36-9 ii \n@reboot-required libc6 linux-image-amd64 \n');
    expect([...r.installed]).toEqual([
      ['openssl', '3.0.13-1~deb12u1'],
      ['libc6', '2.36-9'],
    ]);
    expect(r.rebootRequired).toEqual(['libc6', 'linux-image-amd64']);
    expect(parseInstalled('amd64\n').rebootRequired).toBeUndefined();
  });
});
