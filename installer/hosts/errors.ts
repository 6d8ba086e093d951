import { PalisadeError } from '../core/errors.ts';
import { redact } from '../core/log.ts';
import type { HostTarget } from './target.ts';

/** Failures worth another attempt: the network, not the credentials or the host key. */
const RETRYABLE_CODES = new Set(['ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EPIPE', 'EAI_AGAIN']);

export function isRetryableConnectError(e: unknown): boolean {
  if (e instanceof PalisadeError) return e.code === 'ssh.unreachable' || e.code === 'ssh.connect-timeout' || e.code === 'ssh.handshake';
  return false;
}

/** The last lines of a command's output for an error message, redacted. */
export const lastLines = (text: string, n = 8): string => redact.apply(text.trimEnd().split('\n').slice(-n).join('\n'));

export function where(t: Pick<HostTarget, 'name' | 'address' | 'port'>): string {
  return `${t.name} (${t.address}:${t.port})`;
}

/** Turn what ssh2/net threw into an error an operator can act on. */
export function connectError(t: HostTarget, e: unknown, keyDesc: string): PalisadeError {
  if (e instanceof PalisadeError) return e;
  const err = e as Error & { code?: string; level?: string };
  const code = err.code ?? '';
  const via = t.via ? ` through the jump host ${t.via.address}:${t.via.port}` : '';
  if (err.level === 'client-authentication') {
    return new PalisadeError('ssh.auth', `${where(t)} refused authentication for user "${t.user}" with ${keyDesc}`, {
      hint: `check that the public key is in ~${t.user}/.ssh/authorized_keys on ${t.address} and that "${t.user}" may log in (sshd AllowUsers/PermitRootLogin)`,
      cause: e,
    });
  }
  if (code === 'ENOTFOUND' || code === 'EAI_NONAME') {
    return new PalisadeError('ssh.dns', `${t.name}: the address "${t.address}" does not resolve (DNS)`, {
      hint: 'use an IP address in palisade.yaml, or check /etc/hosts and the resolver on this machine',
      cause: e,
    });
  }
  if (RETRYABLE_CODES.has(code) || err.level === 'client-socket') {
    const what: Record<string, string> = {
      ECONNREFUSED: 'connection refused: nothing listens on that port',
      ETIMEDOUT: 'connection timed out',
      EHOSTUNREACH: 'host unreachable',
      ENETUNREACH: 'network unreachable',
      ECONNRESET: 'connection reset during the handshake',
      EAI_AGAIN: 'DNS lookup failed for now',
    };
    return new PalisadeError('ssh.unreachable', `${where(t)} is unreachable${via}: ${what[code] ?? err.message}`, {
      hint: `check that the host is up, that sshd listens on port ${t.port}, and that no firewall blocks it (try: ssh -p ${t.port} ${t.user}@${t.address})`,
      cause: e,
    });
  }
  if (err.level === 'client-timeout' || /timed out/i.test(err.message)) {
    return new PalisadeError('ssh.connect-timeout', `${where(t)}: no SSH handshake within the connect timeout${via}`, {
      hint: 'the host may be overloaded or something other than sshd answers on that port; raise ssh.connectTimeoutSeconds if the network is slow',
      cause: e,
    });
  }
  if (err.level === 'protocol' || err.level === 'handshake' || /handshake|Connection lost/i.test(err.message)) {
    return new PalisadeError('ssh.handshake', `${where(t)}: SSH handshake failed${via}: ${err.message}`, {
      hint: 'check that an SSH server listens on that port and that it offers a modern key exchange',
      cause: e,
    });
  }
  return new PalisadeError('ssh.connect', `${where(t)}: cannot connect${via}: ${err.message}`, { cause: e });
}
