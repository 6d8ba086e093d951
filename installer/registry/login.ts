/**
 * `palisade registry login`: the appliance registry's credentials in the
 * containers auth.json format (containers-auth.json(5), read by skopeo, podman,
 * buildah, crane and helm), and its CA where containers tools look for it
 * (containers-certs.d(5): certs.d/<host:port>/ca.crt). Both files are written
 * atomically; auth.json is 0600 and keeps every other registry's entry.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic.ts';
import { usageError } from '../core/errors.ts';

/** Where skopeo/podman read credentials by default for this user. */
export function defaultAuthFile(env: NodeJS.ProcessEnv = process.env): string {
  if (env.REGISTRY_AUTH_FILE) return env.REGISTRY_AUTH_FILE;
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json');
  return join(env.HOME ?? '/root', '.config', 'containers', 'auth.json');
}

/** Where containers tools read per-registry CAs: /etc/containers/certs.d for root, ~/.config/containers/certs.d otherwise. */
export function defaultCertsDir(uid = process.getuid?.() ?? 0, env: NodeJS.ProcessEnv = process.env): string {
  return uid === 0 ? '/etc/containers/certs.d' : join(env.HOME ?? '/root', '.config', 'containers', 'certs.d');
}

/** auth.json text with this registry's entry set and every other entry kept. */
export function mergeAuthFile(existing: string | undefined, endpoint: string, username: string, password: string, file = 'auth.json'): string {
  let doc: Record<string, unknown> = {};
  if (existing?.trim()) {
    try {
      const parsed: unknown = JSON.parse(existing);
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      doc = parsed as Record<string, unknown>;
    } catch {
      throw usageError('registry.authfile', `${file} is not a JSON auth file`, 'give another file with --authfile, or move this one aside');
    }
  }
  const auths = doc.auths && typeof doc.auths === 'object' && !Array.isArray(doc.auths) ? (doc.auths as Record<string, unknown>) : {};
  return `${JSON.stringify({ ...doc, auths: { ...auths, [endpoint]: { auth: Buffer.from(`${username}:${password}`).toString('base64') } } }, null, 2)}\n`;
}

export interface LoginResult {
  endpoint: string;
  authFile: string;
  caFile: string;
  /** the directory holding ca.crt, for a tool's --cert-dir */
  certDir: string;
  username: string;
}

export async function writeLogin(o: {
  endpoint: string;
  username: string;
  password: string;
  caPem: string;
  authFile: string;
  certsDir: string;
}): Promise<LoginResult> {
  const existing = await readFile(o.authFile, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw usageError('registry.authfile', `cannot read ${o.authFile} (${e.code ?? 'error'})`);
  });
  const certDir = join(o.certsDir, o.endpoint);
  const caFile = join(certDir, 'ca.crt');
  await writeFileAtomic(caFile, o.caPem, { mode: 0o644, mkdirp: true });
  await writeFileAtomic(o.authFile, mergeAuthFile(existing, o.endpoint, o.username, o.password, o.authFile), { mode: 0o600, mkdirp: true });
  return { endpoint: o.endpoint, authFile: o.authFile, caFile, certDir, username: o.username };
}
