/**
 * The registry client's credentials in use: basic auth, or bearer tokens per
 * scope fetched from the token service the registry names (and only sent to
 * a token service that may receive them). Parsing lives in auth.ts.
 */
import { HttpsClient, readBody } from '../core/https.ts';
import { PalisadeError } from '../core/errors.ts';
import { redact } from '../core/log.ts';
import { basicAuth, mayReceiveCredentials, parseChallenges, parseTokenResponse, tokenUrl, type Challenge } from './auth.ts';
import type { RegistryClientOptions } from './client-types.ts';
import { RegistryHttpError } from './errors.ts';

export interface AuthenticatorOptions {
  base: URL;
  /** the registry's own connection, reused for a token service on the same origin */
  transport: HttpsClient;
  options: Pick<RegistryClientOptions, 'username' | 'password' | 'ca' | 'timeoutMs'>;
  /** a token service on another origin that may receive the credentials */
  tokenRealm?: URL;
  /** the client's counters: token requests count as requests */
  stats: { requests: number };
}

export class RegistryAuthenticator {
  private basic: string | undefined;
  private bearer: Challenge | undefined;
  private readonly tokens = new Map<string, { token: string; expires: number }>();

  constructor(private readonly o: AuthenticatorOptions) {}

  /** The Authorization header for a request to `url` with these scopes, if there is one to send. */
  header(scopes: string[], url: URL): string | undefined {
    // a Location or Link to another origin is followed without the registry's credentials or tokens
    if (url.origin !== this.o.base.origin) return undefined;
    if (this.bearer) {
      const t = this.tokens.get(scopes.join(' '));
      if (t && t.expires > Date.now()) return `Bearer ${t.token}`;
      return undefined;
    }
    return this.basic;
  }

  /**
   * Answer the registry's 401 challenge once: fetch a bearer token, or start
   * sending basic credentials. Throws when there is nothing to answer with.
   */
  async answer(wwwAuthenticate: string | string[] | undefined, scopes: string[]): Promise<void> {
    const challenges = parseChallenges(wwwAuthenticate);
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    if (bearer) {
      this.bearer = bearer;
      await this.fetchToken(bearer, scopes);
      return;
    }
    const { username, password } = this.o.options;
    if (challenges.some((c) => c.scheme === 'basic') && username !== undefined && password !== undefined) {
      this.basic = basicAuth(username, password);
      return;
    }
    if (username !== undefined && password === undefined) {
      throw new PalisadeError('registry.auth', `${this.o.base.origin} needs a password for user ${JSON.stringify(username)}, and none was given`, {
        hint: 'pass --password-file FILE or set PALISADE_REGISTRY_PASSWORD',
      });
    }
    throw this.error(401, this.o.base.origin);
  }

  private async fetchToken(challenge: Challenge, scopes: string[]): Promise<void> {
    let url: URL;
    try {
      url = tokenUrl(challenge, scopes);
    } catch {
      throw new PalisadeError('registry.auth', `${this.o.base.origin} asked for a bearer token without saying where to get it`);
    }
    const withCredentials = this.o.options.username !== undefined && this.o.options.password !== undefined;
    if (url.protocol !== 'https:') {
      throw new PalisadeError(
        'registry.auth',
        `${this.o.base.origin} sent its token service as ${url.origin}, which is not TLS: no credentials or token requests go there`,
        {
          hint: 'serve the token service over https',
        },
      );
    }
    if (withCredentials && !mayReceiveCredentials(url, this.o.base, this.o.tokenRealm)) {
      throw new PalisadeError(
        'registry.auth',
        `${this.o.base.origin} sent its token service as ${url.origin}, another origin: the registry credentials were not sent there`,
        {
          hint: `if ${url.origin} is your registry's token service, name it with --token-realm ${url.origin}`,
        },
      );
    }
    const tokenTransport =
      url.origin === this.o.base.origin ? this.o.transport : new HttpsClient({ secure: true, ca: this.o.options.ca, timeoutMs: this.o.options.timeoutMs });
    try {
      const headers: Record<string, string> = { 'User-Agent': 'palisade' };
      if (withCredentials) headers.Authorization = basicAuth(this.o.options.username as string, this.o.options.password as string);
      const res = await tokenTransport.request({ method: 'GET', url, headers });
      this.o.stats.requests++;
      const body = await readBody(res, 1 << 20);
      if (res.status === 401 || res.status === 403) throw this.error(res.status, `token service ${url.origin}`);
      if (res.status !== 200) throw new RegistryHttpError('GET', `${url.origin}${url.pathname}`, res.status, undefined, body.toString('utf8').slice(0, 200));
      let parsed;
      try {
        parsed = parseTokenResponse(JSON.parse(body.toString('utf8')));
      } catch {
        parsed = undefined;
      }
      if (!parsed) throw new PalisadeError('registry.auth', `token service ${url.origin} answered without a token`);
      redact.add(parsed.token);
      // renew a little early; a token that expires sooner anyway is answered with 401 and fetched again
      const life = parsed.expiresIn > 20 ? parsed.expiresIn - 10 : parsed.expiresIn / 2;
      this.tokens.set(scopes.join(' '), { token: parsed.token, expires: Date.now() + life * 1000 });
    } finally {
      if (tokenTransport !== this.o.transport) tokenTransport.close();
    }
  }

  /** A 401 or 403 as an error that says whose credentials and what to do. */
  error(status: number, where: string): PalisadeError {
    const who = this.o.options.username ? `user ${JSON.stringify(this.o.options.username)}` : 'anonymous access';
    return status === 403
      ? new PalisadeError('registry.auth', `${where} denied ${who} (HTTP 403): no permission for this operation`, {
          hint: 'use an account with push access to the registry',
        })
      : new PalisadeError('registry.auth', `${where} rejected the credentials of ${who} (HTTP 401)`, {
          hint: this.o.options.username
            ? 'check the registry user name and password (--username, --password-file or PALISADE_REGISTRY_PASSWORD)'
            : 'the registry needs credentials: pass --username and --password-file',
        });
  }
}
