import { hashFile, sha256Hex } from '../core/hash.ts';
import { sh } from '../core/quote.ts';
import type { RemoteHost } from './types.ts';

/**
 * "These files on that host": compare each wanted file's SHA-256, mode and
 * owner with what the host has (one command for all of them), upload only what
 * differs (verified, renamed into place with its mode), and restart the unit
 * that uses them when one changed. Secrets travel inside uploaded files, never
 * on a command line.
 */
export interface DesiredFile {
  path: string;
  /** the bytes, or a local file */
  source: Buffer | string;
  mode: number;
  /** default root:root */
  owner?: string;
  /** the digest the content must have (a bundle file's signed digest): compared on the host, and an upload of a source that differs is refused */
  sha256?: string;
}

const DEFAULT_OWNER = 'root:root';
const isUnitFile = (path: string): boolean => /^\/(etc|lib|usr\/lib)\/systemd\//.test(path);
const localSums = new Map<string, Promise<string>>();

/** SHA-256 of the content; a local file is hashed once per process (a bundle file comes with its signed digest instead: DesiredFile.sha256). */
export function contentSha256(source: Buffer | string): Promise<string> {
  if (Buffer.isBuffer(source)) return Promise.resolve(sha256Hex(source));
  let p = localSums.get(source);
  if (!p) {
    p = hashFile(source).then((d) => d.sha256);
    localSums.set(source, p);
  }
  return p;
}

/** The wanted files whose content, mode or owner differ on the host (missing ones included). */
export async function filesToWrite(host: RemoteHost, files: readonly DesiredFile[]): Promise<DesiredFile[]> {
  if (files.length === 0) return [];
  const r = await host.exec(
    `for f in ${files.map((f) => sh`${f.path}`).join(' ')}; do if [ -f "$f" ]; then printf '%s %s %s\\n' "$(sha256sum < "$f" | cut -d' ' -f1)" "$(stat -c '%a_%U:%G' "$f")" "$f"; else echo "- - $f"; fi; done`,
    { sudo: true, check: true },
  );
  const current = new Map<string, string>();
  for (const line of r.stdout.trim().split('\n')) {
    const [sum, meta, ...p] = line.split(' ');
    current.set(p.join(' '), `${sum} ${meta}`);
  }
  const sums = await Promise.all(files.map((f) => f.sha256 ?? contentSha256(f.source)));
  return files.filter((f, i) => current.get(f.path) !== `${sums[i]} ${f.mode.toString(8)}_${f.owner ?? DEFAULT_OWNER}`);
}

export interface SyncOptions {
  /** the systemd unit that uses the files: enabled, and (re)started when a file changed or it is not running */
  unit?: string;
  /** called before the unit is (re)started */
  onRestart?: (why: string) => void;
  /** progress of each upload: bytes the host acknowledged of the file's size */
  onUpload?: (path: string, sentBytes: number, totalBytes: number) => void;
}

export interface SyncResult {
  /** paths written */
  written: string[];
  restarted: boolean;
}

/** Put the files in place (only those that differ); reload systemd when a unit file changed; restart `unit` when needed. */
export async function syncFiles(host: RemoteHost, files: readonly DesiredFile[], o: SyncOptions = {}): Promise<SyncResult> {
  const todo = await filesToWrite(host, files);
  const dirs = [...new Set(todo.map((f) => f.path.replace(/\/[^/]+$/, '') || '/'))];
  // only missing directories are made: an existing one keeps its mode and owner (the registry's config dir is 0750)
  if (dirs.length) await host.exec(sh`for d in ${dirs}; do [ -d "$d" ] || install -d -m 0755 "$d"; done`, { sudo: true, check: true });
  for (const f of todo) {
    const onUpload = o.onUpload;
    await host.upload(f.source, f.path, {
      mode: f.mode,
      sudo: true,
      owner: f.owner ?? DEFAULT_OWNER,
      ...(f.sha256 ? { sha256: f.sha256 } : {}),
      ...(onUpload ? { onProgress: (s: number, t: number) => onUpload(f.path, s, t) } : {}),
    });
  }
  // systemd reads unit files only on a reload; the services read their other files when they start
  if (todo.some((f) => isUnitFile(f.path))) await host.exec('systemctl daemon-reload', { sudo: true, check: true });
  let restarted = false;
  if (o.unit) {
    await host.exec(sh`systemctl enable ${o.unit} 2>&1`, { sudo: true, check: true });
    const active = (await host.exec(sh`systemctl is-active ${o.unit}`, { sudo: true })).stdout.trim() === 'active';
    if (todo.length || !active) {
      o.onRestart?.(active ? `restarting ${o.unit} (${todo.length} file(s) changed)` : `starting ${o.unit}`);
      await host.exec(sh`systemctl restart ${o.unit}`, { sudo: true, check: true });
      restarted = true;
    }
  }
  return { written: todo.map((f) => f.path), restarted };
}
