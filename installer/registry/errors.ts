import { TLS_ERROR_CODES, TransportError } from '../core/https.ts';
import { PalisadeError } from '../core/errors.ts';

/** An HTTP status the client did not expect (body: the registry's error JSON, shortened). */
export class RegistryHttpError extends Error {
  constructor(
    readonly method: string,
    readonly url: string,
    readonly status: number,
    readonly registryCode: string | undefined,
    detail: string,
  ) {
    super(`${method} ${url}: HTTP ${status}${registryCode ? ` ${registryCode}` : ''}${detail ? `: ${detail}` : ''}`);
  }
}

/** Our own copy of a blob does not match its digest: never retried, never committed. */
export class DigestMismatchError extends Error {
  constructor(
    readonly digest: string,
    readonly actual: string,
  ) {
    super(`content does not match ${digest} (it hashes to ${actual})`);
  }
}

/** 5xx, 429, and dropped or refused connections are worth another try; TLS and auth problems are not. */
export function isTransient(e: unknown): boolean {
  if (e instanceof RegistryHttpError) return e.status >= 500 || e.status === 429 || e.status === 408;
  if (e instanceof TransportError) return !TLS_ERROR_CODES.has(e.code) && e.code !== 'ETOOBIG' && e.code !== 'ABORT_ERR';
  // a connection dropped mid-request surfaces from node:http without an errno code
  if (e instanceof Error && /socket hang up|ECONNRESET|EPIPE/.test(e.message) && !(e instanceof DigestMismatchError)) return true;
  return false;
}

/** Turn whatever went wrong into an operator-facing error. */
export function registryError(e: unknown, registry: string): unknown {
  if (e instanceof PalisadeError) return e;
  if (e instanceof TransportError) {
    if (TLS_ERROR_CODES.has(e.code)) {
      return new PalisadeError('registry.tls', `TLS connection to ${registry} failed: ${e.message} (${e.code})`, {
        hint:
          e.code === 'ERR_TLS_CERT_ALTNAME_INVALID'
            ? 'the registry certificate does not name the address you used: connect by a name or IP in its SAN, or reissue the certificate'
            : "pass the CA that issued the registry's certificate with --ca (the root CA from palisade's PKI), and check the registry serves the right certificate",
        cause: e,
      });
    }
    return new PalisadeError('registry.unreachable', `cannot reach the registry at ${registry}: ${e.message} (${e.code})`, {
      hint: 'check the registry service is running (`systemctl status palisade-registry` on its host), the address and port, and that a firewall lets the port through',
      cause: e,
    });
  }
  if (e instanceof RegistryHttpError) {
    return new PalisadeError('registry.http', `registry ${registry} refused a request: ${e.message}`, {
      hint:
        e.status >= 500
          ? 'the registry failed; check its log (`journalctl -u palisade-registry`) and its storage space, then run the command again (finished work is kept)'
          : undefined,
      cause: e,
    });
  }
  return e;
}
