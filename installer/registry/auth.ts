/**
 * Registry authentication challenges (RFC 7235 WWW-Authenticate) and the
 * Docker/OCI distribution token flow. Pure parsing lives here; the client does
 * the requests.
 */
export interface Challenge {
  scheme: 'basic' | 'bearer' | string;
  params: Record<string, string>;
}

/** Parse `Bearer realm="https://x/token",service="reg",scope="repository:a:pull,push"` (several challenges allowed). */
export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  if (!header) return [];
  const text = Array.isArray(header) ? header.join(', ') : header;
  const out: Challenge[] = [];
  const re = /([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)(?:\s+|$)((?:[A-Za-z0-9!#$%&'*+.^_`|~-]+\s*=\s*(?:"(?:[^"\\]|\\.)*"|[^\s,]*)\s*(?:,\s*|$))*)/y;
  let pos = 0;
  while (pos < text.length) {
    while (text[pos] === ' ' || text[pos] === ',') pos++;
    if (pos >= text.length) break;
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) break;
    const params: Record<string, string> = {};
    const pre = /([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/g;
    let pm: RegExpExecArray | null;
    while ((pm = pre.exec(m[2] ?? '')) !== null) {
      params[(pm[1] as string).toLowerCase()] = pm[2] !== undefined ? pm[2].replace(/\\(.)/g, '$1') : (pm[3] ?? '');
    }
    out.push({ scheme: (m[1] as string).toLowerCase(), params });
    if (re.lastIndex === pos) break;
    pos = re.lastIndex;
  }
  return out;
}

export const basicAuth = (username: string, password: string): string => `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;

/** The token scope a request needs: pull for reads, pull,push for writes. */
export function scopeFor(repository: string | undefined, write: boolean, mountFrom?: string): string[] {
  if (!repository) return ['registry:catalog:*'];
  const s = [`repository:${repository}:${write ? 'pull,push' : 'pull'}`];
  if (mountFrom && mountFrom !== repository) s.push(`repository:${mountFrom}:pull`);
  return s;
}

export interface TokenResponse {
  token: string;
  /** seconds */
  expiresIn: number;
}

/** The token endpoint answers {token} or {access_token}; expires_in defaults to 60 s (distribution spec). */
export function parseTokenResponse(body: unknown): TokenResponse | undefined {
  const b = body as { token?: unknown; access_token?: unknown; expires_in?: unknown };
  const token = typeof b?.token === 'string' && b.token ? b.token : typeof b?.access_token === 'string' && b.access_token ? b.access_token : undefined;
  if (!token) return undefined;
  const exp = typeof b.expires_in === 'number' && b.expires_in > 0 ? b.expires_in : 60;
  return { token, expiresIn: exp };
}

/** Token endpoint URL: realm + service + each scope as its own parameter. */
export function tokenUrl(challenge: Challenge, scopes: string[]): URL {
  const realm = challenge.params.realm;
  if (!realm) throw new Error('bearer challenge without realm');
  const u = new URL(realm);
  if (challenge.params.service) u.searchParams.set('service', challenge.params.service);
  const wanted = new Set(scopes);
  if (challenge.params.scope) for (const s of challenge.params.scope.split(' ')) wanted.add(s);
  for (const s of wanted) u.searchParams.append('scope', s);
  return u;
}

/**
 * May a request to `target` carry the registry credentials? Only over TLS, and
 * only to the registry's own origin or the token service the operator named
 * (a registry must not be able to send them anywhere by its answers: a realm,
 * a Location or a Link header).
 */
export function mayReceiveCredentials(target: URL, registry: URL, tokenRealm?: URL): boolean {
  if (target.protocol !== 'https:') return false;
  return target.origin === registry.origin || (tokenRealm !== undefined && tokenRealm.protocol === 'https:' && target.origin === tokenRealm.origin);
}
