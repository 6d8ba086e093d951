import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { renderRegistryConfig, renderRegistryUnit } from './config.ts';
import { RegistryClient } from './client.ts';
import { htpasswdLine, htpasswdMatches } from '../pki/htpasswd.ts';
import type { Bundle } from '../bundle/open.ts';
import { PalisadeError } from '../core/errors.ts';
import { log, redact } from '../core/log.ts';
import { sh } from '../core/quote.ts';
import type { OpenStream } from '../core/https.ts';
import { syncFiles, type DesiredFile } from '../hosts/files.ts';
import type { RemoteHost } from '../hosts/types.ts';

/**
 * The pack registry as a systemd service on a host: the CNCF registry binary
 * from the bundle, its config (TLS, htpasswd, storage root, delete disabled)
 * and a hardened unit. Check, act, verify: files are uploaded only when their
 * digest differs, the service restarts only when something changed, and the
 * result is health-checked.
 */
export const REGISTRY_SERVICE = 'palisade-registry';
export const REGISTRY_USER = 'palisade-registry';

export interface RegistryPaths {
  binary: string;
  configDir: string;
  unit: string;
}

export const DEFAULT_PATHS: RegistryPaths = {
  binary: '/usr/local/lib/palisade/registry',
  configDir: '/etc/palisade/registry',
  unit: `/etc/systemd/system/${REGISTRY_SERVICE}.service`,
};

export interface InstallRegistryOptions {
  /** the registry binary: a local path or its bytes (e.g. `await bundle.localPath('bin/registry')`) */
  binary?: string | Buffer;
  /** or take bin/registry from this bundle */
  bundle?: Bundle;
  /** PEM certificate chain (leaf first) and key of the registry's TLS certificate */
  cert: string;
  key: string;
  /**
   * htpasswd file content (bcrypt lines; see htpasswdLine), or the credentials
   * to hash: then the file on the host is kept when it already matches them, so
   * a re-run does not restart the service for a new salt.
   */
  htpasswd: string | { username: string; password: string; cost?: number };
  port: number;
  /** storage root, on the encrypted data disk */
  storageDir: string;
  /** listen address (default all addresses) */
  listen?: string;
  /** shared secret for upload state; generated once and kept when omitted */
  httpSecret?: string;
  paths?: Partial<RegistryPaths>;
  /** health check from this machine over HTTPS (recommended); without it only the host side is checked */
  health?: { url?: string; ca: string | Buffer; username: string; password: string; connect?: OpenStream };
  /** seconds to wait for the service to answer (default 30) */
  timeoutSeconds?: number;
  /** progress lines: each MiB of a big upload, the (re)start, the wait for the service to answer */
  onProgress?: (line: string) => void;
}

export interface InstallRegistryResult {
  changed: string[];
  restarted: boolean;
  url: string;
}

async function binarySource(o: InstallRegistryOptions): Promise<{ source: Buffer | string; sha256?: string }> {
  if (o.binary !== undefined) return { source: o.binary };
  // with the bundle's signed digest: a binary swapped after verification is refused at upload
  if (o.bundle) return { source: await o.bundle.localPath('bin/registry'), ...(o.bundle.trusted ? { sha256: o.bundle.digest('bin/registry') } : {}) };
  throw new PalisadeError('registry.install', 'installRegistry needs the registry binary (binary or bundle)');
}

/** Read back the secret an earlier install wrote, so re-running does not restart the service for a new one. */
async function existingSecret(host: RemoteHost, configFile: string): Promise<string | undefined> {
  const r = await host.exec(sh`sed -n 's/^ *secret: *//p' ${configFile} 2>/dev/null`, { sudo: true });
  const v = r.stdout.trim();
  return /^[A-Za-z0-9+/=_-]{16,}$/.test(v) ? v : undefined;
}

const MIB = 1024 * 1024;

/** One line per MiB of an upload of more than one MiB. */
function uploadProgress(line: (l: string) => void): (path: string, sent: number, total: number) => void {
  const shown = new Map<string, number>();
  return (path, sent, total) => {
    if (total <= MIB) return;
    const mib = Math.floor(sent / MIB);
    if (mib === (shown.get(path) ?? 0) && sent < total) return;
    shown.set(path, mib);
    line(`uploading ${path}: ${(sent / MIB).toFixed(1)} of ${(total / MIB).toFixed(1)} MiB`);
  };
}

export async function installRegistry(host: RemoteHost, o: InstallRegistryOptions): Promise<InstallRegistryResult> {
  const paths = { ...DEFAULT_PATHS, ...(o.paths ?? {}) };
  const cfgDir = paths.configDir;
  const files = {
    config: `${cfgDir}/config.yml`,
    cert: `${cfgDir}/tls.crt`,
    key: `${cfgDir}/tls.key`,
    htpasswd: `${cfgDir}/htpasswd`,
  };
  redact.add(o.key);

  // the service user, the directories
  await host.exec(
    sh`getent passwd ${REGISTRY_USER} >/dev/null || useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --user-group ${REGISTRY_USER}`,
    { sudo: true, check: true },
  );
  await host.exec(
    sh`install -d -m 0755 -o root -g root ${paths.binary.replace(/\/[^/]+$/, '')} && install -d -m 0750 -o root -g ${REGISTRY_USER} ${cfgDir} && install -d -m 0750 -o ${REGISTRY_USER} -g ${REGISTRY_USER} ${o.storageDir}`,
    { sudo: true, check: true },
  );

  let htpasswd: string;
  if (typeof o.htpasswd === 'string') htpasswd = o.htpasswd;
  else {
    const { username, password, cost } = o.htpasswd;
    redact.add(password);
    const existing = (await host.exec(sh`cat ${files.htpasswd} 2>/dev/null`, { sudo: true })).stdout;
    const lines = existing.split('\n').filter((l) => l.trim() !== '');
    htpasswd = lines.length === 1 && htpasswdMatches(lines[0] as string, username, password) ? `${lines[0]}\n` : htpasswdLine(username, password, cost);
  }
  const secret = o.httpSecret ?? (await existingSecret(host, files.config)) ?? randomBytes(24).toString('base64url');
  redact.add(secret);
  const group = `root:${REGISTRY_USER}`;
  const desired: DesiredFile[] = [
    { path: paths.binary, ...(await binarySource(o)), mode: 0o755, owner: 'root:root' },
    {
      path: files.config,
      source: Buffer.from(
        renderRegistryConfig({
          addr: `${o.listen ?? ''}:${o.port}`,
          storageDir: o.storageDir,
          certFile: files.cert,
          keyFile: files.key,
          htpasswdFile: files.htpasswd,
          httpSecret: secret,
        }),
      ),
      mode: 0o640,
      owner: group,
    },
    { path: files.cert, source: Buffer.from(o.cert), mode: 0o644, owner: 'root:root' },
    { path: files.key, source: Buffer.from(o.key), mode: 0o640, owner: group },
    { path: files.htpasswd, source: Buffer.from(htpasswd), mode: 0o640, owner: group },
    {
      path: paths.unit,
      source: Buffer.from(renderRegistryUnit({ binary: paths.binary, config: files.config, storageDir: o.storageDir, user: REGISTRY_USER, port: o.port })),
      mode: 0o644,
      owner: 'root:root',
    },
  ];

  // check, act: upload what differs (content, mode or owner), (re)start only when needed
  const { written: changed, restarted } = await syncFiles(host, desired, {
    unit: REGISTRY_SERVICE,
    onRestart: (why) => {
      log.info(`${host.name}: ${why}`);
      o.onProgress?.(why);
    },
    onUpload: o.onProgress ? uploadProgress(o.onProgress) : undefined,
  });

  // verify
  const url = o.health?.url ?? `https://${host.address}:${o.port}`;
  o.onProgress?.(`${changed.length} file(s) in place; waiting for ${url} to answer`);
  await waitHealthy(host, o, url);
  return { changed, restarted, url };
}

/** The service must be active and listening; with `health`, the registry must also answer /v2/ over TLS with our credentials. */
export async function waitHealthy(host: RemoteHost, o: Pick<InstallRegistryOptions, 'port' | 'health' | 'timeoutSeconds'>, url: string): Promise<void> {
  const deadline = Date.now() + (o.timeoutSeconds ?? 30) * 1000;
  let last = '';
  while (Date.now() < deadline) {
    const st = await host.exec(sh`systemctl is-active ${REGISTRY_SERVICE}; (ss -Hltn ${`sport = :${o.port}`} 2>/dev/null || echo unknown) | head -1`, {
      sudo: true,
    });
    const [state, listening] = st.stdout.split('\n');
    if (state?.trim() === 'failed') break;
    if (state?.trim() === 'active' && listening && listening.trim() !== '') {
      if (!o.health) return;
      const client = new RegistryClient({
        url,
        ca: o.health.ca,
        username: o.health.username,
        password: o.health.password,
        attempts: 1,
        ...(o.health.connect ? { connect: o.health.connect } : {}),
      });
      try {
        await client.ping();
        return;
      } catch (e) {
        if (e instanceof PalisadeError && (e.code === 'registry.auth' || e.code === 'registry.tls')) throw e;
        last = (e as Error).message;
      } finally {
        client.close();
      }
    } else last = `service ${state?.trim() ?? 'unknown'}${listening ? '' : `, nothing listening on port ${o.port}`}`;
    await sleep(500);
  }
  const journal = await host.exec(sh`journalctl -u ${REGISTRY_SERVICE} -n 15 --no-pager -o cat 2>/dev/null`, { sudo: true });
  throw new PalisadeError('registry.unhealthy', `${host.name}: ${REGISTRY_SERVICE} did not become healthy (${last || 'service failed'})`, {
    hint: `look at \`journalctl -u ${REGISTRY_SERVICE}\` on ${host.name}; last lines:\n${journal.stdout
      .trim()
      .split('\n')
      .map((l) => `    ${l}`)
      .join('\n')}`,
  });
}
