import type { Client } from 'ssh2';
import type { PalisadeConfig } from '../config/schema.ts';
import { resolveConfigPath } from '../config/paths.ts';
import { PalisadeError, usageError } from '../core/errors.ts';
import { settleLimit } from '../core/limit.ts';
import { connectClient, type ClientOptions } from './connect.ts';
import { readKnownHosts, lookupKnownHosts, type KnownHostsFile } from './known-hosts.ts';
import { SshHost } from './remote.ts';
import { configTargets, type HostTarget } from './target.ts';
import { decideHostKey, type HostKeyQuery, type TrustStore } from './trust.ts';
import { checkHostCertificate, parseCertificate, scanCertificates } from './cert.ts';
import { fingerprintOf } from './fingerprint.ts';
import type { RemoteHost } from './types.ts';

export type { HostTarget } from './target.ts';
export type { TrustStore, TrustDecision, HostKeyQuery } from './trust.ts';
export { configTargets } from './target.ts';
export { SshHost } from './remote.ts';

export interface ConnectOptions {
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
  keepaliveMs?: number;
  /** who decides whether a host key is trusted (default: the pin, then known_hosts) */
  trust?: TrustStore;
  /** parsed known_hosts files for the default trust store */
  knownHosts?: readonly KnownHostsFile[];
  /** attempts on network failures (default 3) */
  attempts?: number;
  retryBaseDelayMs?: number;
  /** an already connected jump host client, for targets with `via` */
  jump?: Client;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
}

/**
 * The default trust: the pin from palisade.yaml, then the operator's known_hosts; for a
 * host covered by a known_hosts `@cert-authority`, its host certificate (fetched with
 * `ssh-keyscan -c`, since ssh2 does not negotiate certificates) must certify the very
 * key the handshake presented.
 */
export function defaultTrustStore(knownHosts: readonly KnownHostsFile[] = [], o: { certificates?: (q: HostKeyQuery) => Promise<Buffer[]> } = {}): TrustStore {
  return {
    async decide(q, key) {
      const d = decideHostKey(q, key, knownHosts);
      if (d.ok || d.reason !== 'unknown') return d;
      const { cas, revoked } = lookupKnownHosts(knownHosts, q.address, q.port);
      if (cas.length === 0) return d;
      if (q.viaJump && !o.certificates)
        return {
          ...d,
          detail: 'known_hosts lists a @cert-authority for this host, but host certificates cannot be checked through the jump host; pin the key',
        };
      const certs = await (o.certificates ?? ((x: HostKeyQuery) => scanCertificates(x.address, x.port)))(q);
      let why = certs.length === 0 ? 'the host offers no certificate' : 'no certificate for the presented key';
      for (const blob of certs) {
        try {
          const cert = parseCertificate(blob);
          if (!cert.key.equals(key)) continue;
          const revokedCa = revoked.find((e) => e.key.equals(cert.caKey));
          if (revokedCa) {
            return {
              ok: false,
              reason: 'revoked',
              fingerprint: d.fingerprint,
              keyType: d.keyType,
              expected: [],
              detail: `its certificate is signed by the CA ${fingerprintOf(cert.caKey)}, marked @revoked on line ${revokedCa.line} of known_hosts`,
            };
          }
          const v = checkHostCertificate(cert, { hostName: q.address, cas: cas.map((e) => e.key), revoked: revoked.map((e) => e.key) });
          if (v.ok) return decideHostKey(q, key, knownHosts, { caFingerprint: v.caFingerprint, key: cert.key });
          why = `its certificate was refused: ${v.reason}`;
        } catch (e) {
          why = `its certificate cannot be read: ${(e as Error).message}`;
        }
      }
      return { ...d, detail: `known_hosts lists a @cert-authority for this host, but ${why}` };
    },
  };
}

export function clientOptions(t: HostTarget, o: ConnectOptions): ClientOptions {
  const known = o.knownHosts ?? [];
  // prefer the key types known_hosts holds for this host, as OpenSSH does, so a host with
  // several host keys presents the one that can be checked
  const types = [...new Set(lookupKnownHosts(known, t.address, t.port).keys.map((e) => e.keyType))].flatMap((k) =>
    k === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256'] : [k],
  );
  return {
    connectTimeoutMs: o.connectTimeoutMs ?? 10_000,
    keepaliveMs: o.keepaliveMs ?? 15_000,
    trust: o.trust ?? defaultTrustStore(known),
    attempts: o.attempts ?? 3,
    retryBaseDelayMs: o.retryBaseDelayMs ?? 300,
    ...(types.length && !t.hostKey ? { hostKeyAlgorithms: types } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  };
}

/** Connect to one host (and its jump host when it has one and none is given). */
export async function connectHost(target: HostTarget, opts: ConnectOptions = {}): Promise<RemoteHost> {
  let jump = opts.jump;
  let ownJump: SshHost | undefined;
  if (target.via && !jump) {
    ownJump = (await connectHost(target.via, { ...opts, jump: undefined } as ConnectOptions)) as SshHost;
    jump = ownJump.sshClient;
  }
  try {
    const { client } = await connectClient(target, clientOptions(target, opts), target.via ? jump : undefined);
    return new SshHost(client!, target, {
      commandTimeoutMs: opts.commandTimeoutMs ?? 600_000,
      ...(ownJump ? { onClose: () => ownJump!.close() } : {}),
      ...(opts.env ? { env: opts.env } : {}),
    });
  } catch (e) {
    await ownJump?.close();
    throw e;
  }
}

/** Connection settings from palisade.yaml's `ssh` section, with known_hosts read. */
export async function configConnectOptions(config: PalisadeConfig, baseDir: string): Promise<ConnectOptions> {
  const s = config.ssh;
  let knownHosts: KnownHostsFile[] = [];
  if (s.knownHosts) {
    const path = resolveConfigPath({ baseDir }, s.knownHosts);
    try {
      knownHosts = [await readKnownHosts(path)];
    } catch (e) {
      throw usageError(
        'ssh.known-hosts',
        `cannot read ssh.knownHosts ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
        'fix the path in palisade.yaml (relative to that file), or remove ssh.knownHosts',
      );
    }
  }
  return {
    connectTimeoutMs: s.connectTimeoutSeconds * 1000,
    commandTimeoutMs: s.commandTimeoutSeconds * 1000,
    keepaliveMs: s.keepaliveSeconds * 1000,
    knownHosts,
  };
}

/**
 * Connect to every host in palisade.yaml (or `only` these), at most
 * ssh.concurrency at once. A host that fails does not stop the others: it is
 * listed in `failures`. Hosts behind the jump host share one jump connection.
 */
export async function connectHosts(
  config: PalisadeConfig,
  baseDir: string,
  opts: { only?: string[]; trust?: TrustStore } & Omit<ConnectOptions, 'jump'> = {},
): Promise<{ hosts: Map<string, RemoteHost>; failures: { name: string; error: PalisadeError }[] }> {
  const base = { ...(await configConnectOptions(config, baseDir)), ...opts };
  const targets = configTargets(config, baseDir, opts.only);
  const unknown = (opts.only ?? []).filter((n) => !config.hosts.some((h) => h.name === n));
  if (unknown.length)
    throw usageError('hosts.unknown', `no host named ${unknown.join(', ')} in palisade.yaml`, `hosts are: ${config.hosts.map((h) => h.name).join(', ')}`);
  const jumpTarget = targets.find((t) => t.via)?.via;
  let jumpHost: Promise<SshHost> | undefined;
  let jumpUsers = 0;
  const releaseJump = async () => {
    if (--jumpUsers === 0 && jumpHost) await (await jumpHost).close();
  };
  const results = await settleLimit(targets, config.ssh.concurrency, async (t) => {
    if (!t.via) return connectHost(t, base);
    jumpHost ??= connectHost(jumpTarget!, base) as Promise<SshHost>;
    let jump: SshHost;
    try {
      jump = await jumpHost;
    } catch (e) {
      throw e instanceof PalisadeError
        ? new PalisadeError(e.code, `${t.name} is behind the jump host, which failed: ${e.message}`, { ...(e.hint ? { hint: e.hint } : {}), cause: e })
        : e;
    }
    jumpUsers++;
    try {
      const h = (await connectHost(t, { ...base, jump: jump.sshClient })) as SshHost;
      h.addCloseHook(releaseJump);
      return h;
    } catch (e) {
      await releaseJump();
      throw e;
    }
  });
  const hosts = new Map<string, RemoteHost>();
  const failures: { name: string; error: PalisadeError }[] = [];
  results.forEach((r, i) => {
    const name = targets[i]!.name;
    if (r.status === 'fulfilled') hosts.set(name, r.value);
    else
      failures.push({
        name,
        error:
          r.reason instanceof PalisadeError
            ? r.reason
            : new PalisadeError('ssh.connect', `${name}: ${(r.reason as Error)?.message ?? String(r.reason)}`, { cause: r.reason }),
      });
  });
  // no host needed the jump connection in the end
  if (jumpHost && jumpUsers === 0)
    await jumpHost.then(
      (j) => j.close(),
      () => undefined,
    );
  return { hosts, failures };
}

export async function closeAll(hosts: Map<string, RemoteHost> | Iterable<RemoteHost>): Promise<void> {
  const list = hosts instanceof Map ? [...hosts.values()] : [...hosts];
  await Promise.all(list.map((h) => h.close().catch(() => undefined)));
}
