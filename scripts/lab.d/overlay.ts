/** Files written into a host's overlay upper dir, with the owners and modes the base image gives their directories. */
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Makes `rel` (a directory) in the overlay upper dir with the owner and mode it has in the base image. */
function mkdirLike(lower: string, upper: string, rel: string): void {
  const parts = rel.split('/').filter(Boolean);
  let cur = '';
  for (const p of parts) {
    cur = `${cur}/${p}`;
    const up = join(upper, cur);
    if (existsSync(up)) continue;
    mkdirSync(up);
    const lo = join(lower, cur);
    if (existsSync(lo)) {
      const st = statSync(lo);
      chownSync(up, st.uid, st.gid);
      chmodSync(up, st.mode & 0o7777);
    }
  }
}

export function putFile(lower: string, upper: string, rel: string, content: string, mode = 0o644, uid = 0, gid = 0): void {
  mkdirLike(lower, upper, dirname(rel));
  const p = join(upper, rel);
  writeFileSync(p, content, { mode });
  chmodSync(p, mode);
  chownSync(p, uid, gid);
}

export function ownerOf(lower: string, rel: string): { uid: number; gid: number } {
  const st = lstatSync(join(lower, rel));
  return { uid: st.uid, gid: st.gid };
}
