import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { keyTypeOf } from './fingerprint.ts';

/**
 * Read-only parser for the operator's OpenSSH known_hosts (sshd(8) "SSH_KNOWN_HOSTS
 * FILE FORMAT"): plain and hashed (`|1|salt|hmac`) host fields, `[host]:port`,
 * comma-separated patterns with `*`/`?` wildcards and `!` negation, and the
 * `@cert-authority` / `@revoked` markers. Lines it cannot read are skipped
 * (counted), as OpenSSH does.
 */
export type Marker = 'cert-authority' | 'revoked';

export interface KnownHostsEntry {
  line: number;
  marker?: Marker;
  /** the host field as written */
  hosts: string;
  keyType: string;
  key: Buffer;
}

export interface KnownHostsFile {
  path: string;
  entries: KnownHostsEntry[];
  skipped: number[];
}

export function parseKnownHosts(text: string, path = 'known_hosts'): KnownHostsFile {
  const entries: KnownHostsEntry[] = [];
  const skipped: number[] = [];
  text.split('\n').forEach((raw, i) => {
    const lineNo = i + 1;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const f = line.split(/\s+/);
    let marker: Marker | undefined;
    if (f[0]?.startsWith('@')) {
      const m = f.shift()!.slice(1);
      if (m !== 'cert-authority' && m !== 'revoked') {
        skipped.push(lineNo);
        return;
      }
      marker = m;
    }
    const [hosts, keyType, b64] = f;
    if (!hosts || !keyType || !b64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) {
      skipped.push(lineNo);
      return;
    }
    const key = Buffer.from(b64, 'base64');
    if (keyTypeOf(key) !== keyType) {
      skipped.push(lineNo);
      return;
    }
    entries.push({ line: lineNo, ...(marker ? { marker } : {}), hosts, keyType, key });
  });
  return { path, entries, skipped };
}

export async function readKnownHosts(path: string): Promise<KnownHostsFile> {
  return parseKnownHosts(await readFile(path, 'utf8'), path);
}

/** The name OpenSSH looks up: `host` on port 22, `[host]:port` otherwise. */
export function hostKeyName(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

function globMatch(pattern: string, s: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );
  return re.test(s);
}

function hashedMatch(field: string, name: string): boolean {
  const m = /^\|1\|([A-Za-z0-9+/=]+)\|([A-Za-z0-9+/=]+)$/.exec(field);
  if (!m) return false;
  const salt = Buffer.from(m[1]!, 'base64');
  const want = Buffer.from(m[2]!, 'base64');
  const got = createHmac('sha1', salt).update(name).digest();
  return want.length === got.length && timingSafeEqual(want, got);
}

/** Does the host field of an entry cover this address and port? */
export function hostsFieldMatches(field: string, address: string, port: number): boolean {
  const name = hostKeyName(address, port);
  if (field.startsWith('|')) return hashedMatch(field, name);
  let positive = false;
  for (const p of field.split(',')) {
    if (p === '') continue;
    const negated = p.startsWith('!');
    const pat = negated ? p.slice(1) : p;
    if (globMatch(pat, name)) {
      if (negated) return false;
      positive = true;
    }
  }
  return positive;
}

/** Entries that apply to a host, by kind. */
export function lookupKnownHosts(
  files: readonly KnownHostsFile[],
  address: string,
  port: number,
): { keys: KnownHostsEntry[]; cas: KnownHostsEntry[]; revoked: KnownHostsEntry[] } {
  const keys: KnownHostsEntry[] = [];
  const cas: KnownHostsEntry[] = [];
  const revoked: KnownHostsEntry[] = [];
  for (const f of files) {
    for (const e of f.entries) {
      // @revoked applies to the key wherever it appears; its host field is conventionally "*"
      if (e.marker === 'revoked') {
        if (hostsFieldMatches(e.hosts, address, port)) revoked.push(e);
        continue;
      }
      if (!hostsFieldMatches(e.hosts, address, port)) continue;
      (e.marker === 'cert-authority' ? cas : keys).push(e);
    }
  }
  return { keys, cas, revoked };
}
