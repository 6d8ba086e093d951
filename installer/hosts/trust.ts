import { PalisadeError } from '../core/errors.ts';
import { fingerprintOf, keyTypeOf } from './fingerprint.ts';
import { lookupKnownHosts, type KnownHostsFile } from './known-hosts.ts';

/** What is known about the host a key is being checked for. */
export interface HostKeyQuery {
  /** the host's name in palisade.yaml (or "jump host") */
  name: string;
  address: string;
  port: number;
  /** pinned fingerprint from palisade.yaml (hostKey) */
  pinned?: string;
  /** where the pin lives, for messages: `hosts[2].hostKey` */
  pinPath?: string;
  /** reached through the jump host (no side channel to it for certificates) */
  viaJump?: boolean;
}

/**
 * A host certificate the host presented, already checked against the CA keys
 * (see cert.ts). ssh2 does not negotiate certificate host keys, so this is only
 * present when a certificate was obtained on the side.
 */
export interface CertificateCheck {
  /** fingerprint of the CA that signed it (listed as @cert-authority for this host) */
  caFingerprint: string;
  /** the certified key, which must equal the key presented in the handshake */
  key: Buffer;
}

export type TrustSource = 'pin' | 'known_hosts' | 'cert-authority' | 'accepted';

export type TrustDecision =
  | { ok: true; source: TrustSource; fingerprint: string; keyType: string; detail?: string }
  | { ok: false; reason: 'unknown' | 'changed' | 'revoked'; fingerprint: string; keyType: string; expected: string[]; detail?: string };

/**
 * Pure pinning decision, in OpenSSH's order: a revoked key is refused whatever
 * else says; a pin in palisade.yaml is authoritative (any other key is a change);
 * then known_hosts keys (a different key of the same type is a change, as OpenSSH
 * says); then a host certificate from a listed CA; otherwise unknown.
 */
export function decideHostKey(q: HostKeyQuery, key: Buffer, knownHosts: readonly KnownHostsFile[] = [], cert?: CertificateCheck): TrustDecision {
  const fingerprint = fingerprintOf(key);
  const keyType = keyTypeOf(key);
  const base = { fingerprint, keyType };
  const kh = lookupKnownHosts(knownHosts, q.address, q.port);
  const revoked = kh.revoked.find((e) => e.key.equals(key));
  if (revoked) return { ok: false, reason: 'revoked', ...base, expected: [], detail: `marked @revoked on line ${revoked.line} of known_hosts` };
  if (q.pinned) {
    if (q.pinned === fingerprint) return { ok: true, source: 'pin', ...base };
    return { ok: false, reason: 'changed', ...base, expected: [q.pinned], detail: `pinned in palisade.yaml${q.pinPath ? ` (${q.pinPath})` : ''}` };
  }
  const same = kh.keys.find((e) => e.key.equals(key));
  if (same) return { ok: true, source: 'known_hosts', ...base, detail: `known_hosts line ${same.line}` };
  const sameType = kh.keys.filter((e) => e.keyType === keyType);
  if (sameType.length > 0) {
    return {
      ok: false,
      reason: 'changed',
      ...base,
      expected: sameType.map((e) => fingerprintOf(e.key)),
      detail: `known_hosts line ${sameType.map((e) => e.line).join(', ')}`,
    };
  }
  if (cert?.key.equals(key) && kh.cas.some((e) => fingerprintOf(e.key) === cert.caFingerprint)) {
    return { ok: true, source: 'cert-authority', ...base, detail: `certificate signed by @cert-authority ${cert.caFingerprint}` };
  }
  const detail = kh.cas.length > 0 ? 'known_hosts lists a @cert-authority for this host, but no valid certificate for this key was obtained' : undefined;
  return { ok: false, reason: 'unknown', ...base, expected: [], ...(detail ? { detail } : {}) };
}

/** Who decides whether a host key is trusted (tests and `hosts trust` hand in their own). */
export interface TrustStore {
  decide(q: HostKeyQuery, key: Buffer): TrustDecision | Promise<TrustDecision>;
}

function hostKeyFileType(t: string): string {
  return t.startsWith('ecdsa') ? 'ecdsa' : t.replace(/^ssh-/, '');
}

export function hostKeyError(q: HostKeyQuery, d: Extract<TrustDecision, { ok: false }>, configHint = 'palisade hosts trust'): PalisadeError {
  const where = `${q.name} (${q.address}:${q.port})`;
  const pinField = q.pinPath ?? 'hostKey';
  if (d.reason === 'unknown') {
    return new PalisadeError(
      'ssh.hostkey-unknown',
      `${where} presented an unknown host key: ${d.keyType} ${d.fingerprint}${d.detail ? ` (${d.detail})` : ''}`,
      {
        hint: `check this fingerprint on the host's console (ssh-keygen -lf /etc/ssh/ssh_host_${hostKeyFileType(d.keyType)}_key.pub), then pin it: run \`${configHint}\`, or set ${pinField}: "${d.fingerprint}" in palisade.yaml`,
      },
    );
  }
  if (d.reason === 'revoked') {
    return new PalisadeError('ssh.hostkey-revoked', `${where} presented a REVOKED host key: ${d.keyType} ${d.fingerprint} (${d.detail ?? 'revoked'})`, {
      hint: 'this key must never be trusted again; the host needs a new host key, verified on its console and then pinned',
    });
  }
  return new PalisadeError(
    'ssh.hostkey-changed',
    [
      '@@@ HOST KEY CHANGED @@@',
      `${where} presented ${d.keyType} ${d.fingerprint}`,
      `but expected ${d.expected.join(' or ')} (${d.detail ?? 'pinned'}).`,
      'Someone could be intercepting this connection (man-in-the-middle), or the host was reinstalled. Nothing was sent to it.',
    ].join('\n'),
    {
      hint: `do not continue until you know why. If the host was reinstalled, verify the new fingerprint on its console, then run \`${configHint} --replace\``,
    },
  );
}
