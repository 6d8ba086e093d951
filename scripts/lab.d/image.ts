/**
 * The lab's host image: Debian 12 built once by build-image.sh into the cache, named by the hash
 * of its recipe (so a changed recipe builds a new one and labs still running keep theirs).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LabError, say, shell } from './sys.ts';

export const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const CACHE = process.env.PALISADE_LAB_CACHE ?? '/var/cache/palisade-lab';

function imageHash(): string {
  const h = createHash('sha256');
  for (const f of ['images/host-os/packages.txt', 'images/host-os/setup.sh', 'scripts/lab.d/build-image.sh']) {
    h.update(f)
      .update('\0')
      .update(readFileSync(join(repo, f)))
      .update('\0');
  }
  return h.digest('hex').slice(0, 16);
}

/** The image's root file system, built first when this recipe has none complete in the cache. */
export async function ensureImage(): Promise<string> {
  const hash = imageHash();
  const rootfs = join(CACHE, `host-os-${hash}`, 'rootfs');
  if (existsSync(join(CACHE, `host-os-${hash}`, 'complete'))) return rootfs;
  const r = await shell({ nothrow: true, timeout: '20m' })`bash ${join(here, 'build-image.sh')} ${CACHE} ${hash}`;
  process.stderr.write(r.stderr);
  if (!r.ok) throw new LabError(`building the host image failed (see above)`);
  return rootfs;
}

/** Removes cached images of other recipes that no running process (nspawn) uses. */
export function pruneImages(): void {
  const current = `host-os-${imageHash()}`;
  if (!existsSync(CACHE)) return;
  const inUse = new Set<string>();
  for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      for (const a of readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0')) {
        const m = /^--(?:directory|overlay)=([^:]+)/.exec(a);
        if (m?.[1]?.startsWith(`${CACHE}/`)) inUse.add(m[1].slice(CACHE.length + 1).split('/')[0]!);
      }
    } catch {}
  }
  for (const d of readdirSync(CACHE)) {
    if (!d.startsWith('host-os-') || d === current) continue;
    if (inUse.has(d)) {
      say(`kept ${d}: in use by a running lab`);
      continue;
    }
    rmSync(join(CACHE, d), { recursive: true, force: true });
    say(`removed ${d}`);
  }
}
