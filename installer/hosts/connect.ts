import type { Duplex } from 'node:stream';
import { Client, type ConnectConfig } from 'ssh2';
import { PalisadeError } from '../core/errors.ts';
import { retry } from '../core/retry.ts';
import { log } from '../core/log.ts';
import { credentialsFor } from './credentials.ts';
import { connectError, isRetryableConnectError, where } from './errors.ts';
import { hostKeyError, type HostKeyQuery, type TrustDecision, type TrustStore } from './trust.ts';
import type { HostTarget } from './target.ts';

export interface ClientOptions {
  connectTimeoutMs: number;
  keepaliveMs: number;
  trust: TrustStore;
  /** attempts on network failures (never on auth or host-key failures) */
  attempts: number;
  retryBaseDelayMs: number;
  /** host-key algorithms to prefer, e.g. the types known_hosts holds for the host */
  hostKeyAlgorithms?: string[];
  /** offer only these host-key algorithms */
  hostKeyAlgorithmsOnly?: string[];
  /** only exchange keys: stop right after the host key is seen (for `hosts trust`) */
  keyOnly?: boolean;
  signal?: AbortSignal;
}

export function hostKeyQuery(t: HostTarget): HostKeyQuery {
  return {
    name: t.name,
    address: t.address,
    port: t.port,
    ...(t.hostKey ? { pinned: t.hostKey } : {}),
    ...(t.pinPath ? { pinPath: t.pinPath } : {}),
    ...(t.via ? { viaJump: true } : {}),
  };
}

/** A TCP stream to `t` opened by the jump host's sshd (direct-tcpip). */
export function forwardOut(jump: Client, t: HostTarget, timeoutMs: number): Promise<Duplex> {
  return directTcp(jump, t.address, t.port, timeoutMs, 'jump host');
}

/**
 * A TCP stream to `address`:`port` opened by the sshd at the other end of `client` (direct-tcpip);
 * failures carry the errno code a local connect would have (ECONNREFUSED, EHOSTUNREACH, ETIMEDOUT).
 */
export function directTcp(client: Client, address: string, port: number, timeoutMs: number, label: string): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      reject(
        Object.assign(new Error(`${label}: no channel to ${address}:${port} after ${timeoutMs / 1000} s`), { level: 'client-timeout', code: 'ETIMEDOUT' }),
      );
    }, timeoutMs);
    client.forwardOut('127.0.0.1', 0, address, port, (err, stream) => {
      clearTimeout(timer);
      if (timedOut) return void stream?.destroy();
      if (!err) return resolve(stream);
      const reason = String((err as Error & { reason?: unknown }).reason ?? '');
      const msg = err.message.replace(/^\(SSH\) /, '');
      // the far sshd could not open the TCP connection: same meaning as a local ECONNREFUSED etc.
      const code = /refused/i.test(msg)
        ? 'ECONNREFUSED'
        : /unreachable|no route/i.test(msg)
          ? 'EHOSTUNREACH'
          : /timed out/i.test(msg)
            ? 'ETIMEDOUT'
            : reason === '1'
              ? 'EPERM'
              : 'ECONNREFUSED';
      reject(Object.assign(new Error(`${label}: ${msg}`), { code }));
    });
  });
}

function destroySocket(client: Client): void {
  (client as unknown as { _sock?: { destroy(): void } })._sock?.destroy();
}

/** One attempt: TCP (or the given stream), handshake, host-key decision, authentication. */
function connectOnce(
  t: HostTarget,
  o: ClientOptions,
  sock: Duplex | undefined,
  cfg: Partial<ConnectConfig>,
  keyDesc: string,
): Promise<{ client?: Client; decision: TrustDecision }> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let decision: TrustDecision | undefined;
    let settled = false;
    const q = hostKeyQuery(t);
    const fail = (e: unknown, aborted = false) => {
      if (settled) return;
      settled = true;
      o.signal?.removeEventListener('abort', onAbort);
      // a failed attempt leaves no socket behind, whatever state the handshake was in
      destroySocket(client);
      if (aborted) reject(e);
      else if (decision && !decision.ok) reject(hostKeyError(q, decision));
      else reject(connectError(t, e, keyDesc));
    };
    const onAbort = () => fail(o.signal?.reason ?? new Error('aborted'), true);
    client.on('error', fail);
    client.on('close', () => fail(Object.assign(new Error('Connection lost before handshake'), { level: 'client-socket', code: 'ECONNRESET' })));
    client.on('ready', () => {
      if (settled) return;
      settled = true;
      o.signal?.removeEventListener('abort', onAbort);
      client.removeAllListeners('error');
      client.on('error', (e) => log.debug(`${t.name}: ssh: ${e.message}`));
      resolve({ client, decision: decision! });
    });
    o.signal?.addEventListener('abort', onAbort, { once: true });
    client.connect({
      host: t.address,
      port: t.port,
      username: t.user,
      readyTimeout: o.connectTimeoutMs,
      keepaliveInterval: o.keepaliveMs,
      keepaliveCountMax: 3,
      ...(sock ? { sock: sock as unknown as ConnectConfig['sock'] } : {}),
      ...(o.hostKeyAlgorithmsOnly?.length
        ? { algorithms: { serverHostKey: o.hostKeyAlgorithmsOnly as never } }
        : o.hostKeyAlgorithms?.length
          ? { algorithms: { serverHostKey: { prepend: o.hostKeyAlgorithms } as never } }
          : {}),
      ...cfg,
      hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
        Promise.resolve()
          .then(() => o.trust.decide(q, key))
          .then(
            (d) => {
              decision = d;
              if (o.keyOnly && !settled) {
                settled = true;
                o.signal?.removeEventListener('abort', onAbort);
                resolve({ decision: d });
                destroySocket(client);
                return;
              }
              verify(d.ok);
            },
            (e) => {
              fail(e);
              verify(false);
            },
          );
      },
    } as ConnectConfig);
  });
}

/**
 * Connect and authenticate, retrying with backoff on network failures only.
 * With `keyOnly`, resolves with the host-key decision as soon as the key is seen
 * (no credentials are sent) and no client.
 */
export async function connectClient(t: HostTarget, o: ClientOptions, jump?: Client): Promise<{ client?: Client; decision: TrustDecision }> {
  const creds = o.keyOnly ? { description: 'no key (key exchange only)' } : await credentialsFor(t);
  const { description, ...auth } = creds;
  const attempt = async (opts: ClientOptions) => {
    const sock = jump ? await forwardOut(jump, t, opts.connectTimeoutMs).catch((e) => Promise.reject(connectError(t, e, description))) : undefined;
    return connectOnce(t, opts, sock, opts.keyOnly ? {} : auth, description);
  };
  return retry(
    async () => {
      // ssh2 prefers ed25519; a pin of the host's RSA or ECDSA key is not a changed key:
      // look for the pinned key among the host's other keys before calling it a change
      const other = async () => {
        const alg = t.hostKey && !o.hostKeyAlgorithmsOnly ? await findPinnedAlgorithm(t, o, attempt) : undefined;
        if (alg) log.debug(`${where(t)}: the pinned key is the host's ${alg} key`);
        return alg;
      };
      let r: { client?: Client; decision: TrustDecision };
      try {
        r = await attempt(o);
      } catch (e) {
        const alg = e instanceof PalisadeError && e.code === 'ssh.hostkey-changed' ? await other() : undefined;
        if (!alg) throw e;
        return attempt({ ...o, hostKeyAlgorithmsOnly: [alg] });
      }
      // key-only mode answers with the decision instead of throwing
      if (o.keyOnly && !r.decision.ok && r.decision.reason === 'changed') {
        const alg = await other();
        if (alg) return attempt({ ...o, hostKeyAlgorithmsOnly: [alg] });
      }
      return r;
    },
    {
      attempts: o.attempts,
      baseDelayMs: o.retryBaseDelayMs,
      shouldRetry: (e) => isRetryableConnectError(e),
      onRetry: (e, attempt, delay) => log.debug(`${where(t)}: attempt ${attempt} failed (${(e as Error).message}); retrying in ${Math.round(delay)} ms`),
      ...(o.signal ? { signal: o.signal } : {}),
    },
  );
}

const HOST_KEY_ALGORITHMS = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512'];

/** Which host-key algorithm makes the host present its pinned key (key exchange only, no credentials). */
async function findPinnedAlgorithm(
  _t: HostTarget,
  o: ClientOptions,
  attempt: (o: ClientOptions) => Promise<{ decision: TrustDecision }>,
): Promise<string | undefined> {
  for (const alg of HOST_KEY_ALGORITHMS) {
    try {
      const { decision } = await attempt({ ...o, keyOnly: true, hostKeyAlgorithmsOnly: [alg] });
      if (decision.ok) return alg;
    } catch {
      // the host has no key of this type
    }
  }
  return undefined;
}
