/**
 * The bundle's OS package set: Debian .deb files under os/packages/ and a
 * `Packages` index (os/Packages, the apt repository format: one stanza per
 * package, `Field: value` lines). Both sit inside the signed checksums, so the
 * index is trusted only after the bundle verified; each .deb's SHA256 from the
 * index is checked again on the host after upload. Pure: parse and render.
 */
export const OS_PACKAGES_DIR = 'os/packages';
export const OS_PACKAGES_INDEX = 'os/Packages';

export interface PackageEntry {
  name: string;
  version: string;
  architecture: string;
  /** path inside the bundle, relative to os/ (Filename: packages/x.deb) */
  filename: string;
  sha256: string;
  size: number;
  depends?: string;
  description?: string;
}

export function parsePackagesIndex(text: string): PackageEntry[] {
  const out: PackageEntry[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const f: Record<string, string> = {};
    let last = '';
    for (const line of stanza.split('\n')) {
      if (/^\s/.test(line) && last) f[last] += `\n${line.trim()}`;
      else {
        const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
        if (m) f[(last = m[1]!.toLowerCase())] = m[2]!;
      }
    }
    if (!f.package) continue;
    if (!f.version || !f.filename || !f.sha256)
      throw new Error(`the Packages index entry for ${f.package} lacks ${!f.version ? 'Version' : !f.filename ? 'Filename' : 'SHA256'}`);
    if (!/^[a-z0-9][a-z0-9+.-]+$/.test(f.package)) throw new Error(`the Packages index names a package "${f.package}" that is not a Debian package name`);
    if (f.filename.includes('..') || f.filename.startsWith('/'))
      throw new Error(`the Packages index entry for ${f.package} points outside the package set: ${f.filename}`);
    out.push({
      name: f.package,
      version: f.version,
      architecture: f.architecture ?? 'all',
      filename: f.filename,
      sha256: f.sha256.toLowerCase(),
      size: Number(f.size ?? 0),
      ...(f.depends ? { depends: f.depends } : {}),
      ...(f.description ? { description: f.description.split('\n')[0]! } : {}),
    });
  }
  return out;
}

export function renderPackagesIndex(entries: readonly PackageEntry[]): string {
  return (
    entries
      .map((e) =>
        [
          `Package: ${e.name}`,
          `Version: ${e.version}`,
          `Architecture: ${e.architecture}`,
          ...(e.depends ? [`Depends: ${e.depends}`] : []),
          `Filename: ${e.filename}`,
          `Size: ${e.size}`,
          `SHA256: ${e.sha256}`,
          ...(e.description ? [`Description: ${e.description}`] : []),
        ].join('\n'),
      )
      .join('\n\n') + '\n'
  );
}
