/**
 * OS package sets for bundles: a tiny Debian package built with dpkg-deb (for tests and the
 * demo: no download), and the os/packages/ + os/Packages entries of a release spec for a list
 * of .deb files (fields read with `dpkg-deb -f`, SHA256 and Size computed here).
 */
import { $ } from 'zx';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { OS_PACKAGES_DIR, renderPackagesIndex, type PackageEntry } from '../../installer/hardening/patch/index.ts';

export interface TestDeb {
  name: string;
  version: string;
  /** its postinst asks for a reboot the Debian way (/run/reboot-required) */
  reboot?: boolean;
}

/** Build NAME_VERSION_all.deb in `dir`: it installs /usr/share/NAME/VERSION holding the version. */
export function buildTestDeb(dir: string, d: TestDeb): string {
  const root = join(dir, `.build-${d.name}-${d.version}`);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(join(root, 'DEBIAN'), { recursive: true });
  mkdirSync(join(root, 'usr/share', d.name), { recursive: true });
  writeFileSync(join(root, 'usr/share', d.name, 'VERSION'), `${d.version}\n`);
  writeFileSync(
    join(root, 'DEBIAN/control'),
    [
      `Package: ${d.name}`,
      `Version: ${d.version}`,
      'Architecture: all',
      'Maintainer: palisade tests <tests@palisade.invalid>',
      'Section: misc',
      'Priority: optional',
      `Description: palisade patch test package ${d.version}`,
      '',
    ].join('\n'),
  );
  if (d.reboot) {
    writeFileSync(join(root, 'DEBIAN/postinst'), `#!/bin/sh\nset -e\ntouch /run/reboot-required\necho ${d.name} >> /run/reboot-required.pkgs\n`);
    chmodSync(join(root, 'DEBIAN/postinst'), 0o755);
  }
  const out = join(dir, `${d.name}_${d.version.replace(/:/g, '%3a')}_all.deb`);
  // fixed timestamps and owners: the same input builds the same bytes
  $({ sync: true, quiet: true, env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000' } })`dpkg-deb --root-owner-group -Zxz --build ${root} ${out}`;
  rmSync(root, { recursive: true, force: true });
  return out;
}

/** Release spec `files` entries for these .debs and the Packages index (written into `workDir`). */
export function packageSetFiles(debs: readonly string[], workDir: string): Array<{ source: string; name: string; dir: string }> {
  const entries: PackageEntry[] = debs.map((p) => {
    const field = (f: string) => $({ sync: true, quiet: true })`dpkg-deb -f ${p} ${f}`.stdout.trim();
    const bytes = readFileSync(p);
    return {
      name: field('Package'),
      version: field('Version'),
      architecture: field('Architecture'),
      filename: `packages/${basename(p)}`,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      size: statSync(p).size,
      ...(field('Depends') ? { depends: field('Depends') } : {}),
      description: field('Description').split('\n')[0]!,
    };
  });
  mkdirSync(workDir, { recursive: true });
  const index = join(workDir, 'Packages');
  writeFileSync(index, renderPackagesIndex(entries));
  return [...debs.map((p) => ({ source: p, name: basename(p), dir: OS_PACKAGES_DIR })), { source: index, name: 'Packages', dir: 'os' }];
}
