/** Registry and token-service addresses: parsed, and refused unless they are https. */
import { PalisadeError } from '../core/errors.ts';

export function normalizeRegistryUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `https://${url}`);
  } catch {
    throw new PalisadeError('registry.url', `registry URL ${JSON.stringify(url)} is not a URL`, { hint: 'give it as https://host:port', exitCode: 2 });
  }
  // credentials and images travel to the registry: never in the clear
  if (u.protocol !== 'https:')
    throw new PalisadeError('registry.url', `registry URL ${url} must be https://host:port (${u.protocol.replace(/:$/, '')} is not accepted)`, {
      hint: 'the pack registry is always served over TLS',
      exitCode: 2,
    });
  u.pathname = '/';
  u.search = '';
  return u;
}
export function insecureUrl(base: URL, url: URL): PalisadeError {
  return new PalisadeError('registry.insecure-url', `${base.origin} sent palisade on to ${url.origin}, which is not TLS: refused`, {
    hint: 'the registry and everything it points at must be served over https',
  });
}

export function tokenRealmUrl(realm: string): URL {
  let u: URL | undefined;
  try {
    u = new URL(realm);
  } catch {
    u = undefined;
  }
  if (!u || u.protocol !== 'https:') {
    throw new PalisadeError('registry.token-realm', `token realm ${JSON.stringify(realm)} must be an https:// URL`, {
      hint: 'give the URL of the token service, e.g. https://auth.example:5001/token',
      exitCode: 2,
    });
  }
  return u;
}
