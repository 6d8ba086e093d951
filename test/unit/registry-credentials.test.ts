import { describe, expect, it } from 'vitest';
import { mayReceiveCredentials } from '../../installer/registry/auth.ts';
import { normalizeRegistryUrl } from '../../installer/registry/client.ts';
import { isPalisadeError } from '../../installer/core/errors.ts';

const reg = new URL('https://registry.dc1.internal:5000/');

describe('registry credentials go only over TLS, to the registry or the named token service', () => {
  it('refuses an http:// registry URL (and other schemes) with exit 2; a bare host:port means https', () => {
    for (const u of ['http://10.0.0.5:5000', 'HTTP://10.0.0.5:5000', 'ftp://10.0.0.5']) {
      let err: unknown;
      try {
        normalizeRegistryUrl(u);
      } catch (e) {
        err = e;
      }
      expect(isPalisadeError(err) && err.code === 'registry.url' && err.exitCode === 2, u).toBe(true);
    }
    expect(normalizeRegistryUrl('10.0.0.5:5000').href).toBe('https://10.0.0.5:5000/');
    expect(normalizeRegistryUrl('https://r.example:5000/v2/x?y').href).toBe('https://r.example:5000/');
  });

  it('the registry origin receives them; the same host over http, another port or another host does not', () => {
    expect(mayReceiveCredentials(new URL('https://registry.dc1.internal:5000/v2/x/blobs/uploads/1'), reg)).toBe(true);
    expect(mayReceiveCredentials(new URL('http://registry.dc1.internal:5000/token'), reg)).toBe(false);
    expect(mayReceiveCredentials(new URL('https://registry.dc1.internal:5001/token'), reg)).toBe(false);
    expect(mayReceiveCredentials(new URL('https://evil.example/token'), reg)).toBe(false);
    expect(mayReceiveCredentials(new URL('https://registry.dc1.internal.evil.example:5000/'), reg)).toBe(false);
  });

  it('a configured token realm receives them over https only, and only on its own origin', () => {
    const realm = new URL('https://auth.dc1.internal:5001/token');
    expect(mayReceiveCredentials(new URL('https://auth.dc1.internal:5001/token?scope=x'), reg, realm)).toBe(true);
    expect(mayReceiveCredentials(new URL('https://auth.dc1.internal:5002/token'), reg, realm)).toBe(false);
    expect(mayReceiveCredentials(new URL('http://auth.dc1.internal:5001/token'), reg, realm)).toBe(false);
    expect(mayReceiveCredentials(new URL('https://auth.dc1.internal:5001/token'), reg, new URL('http://auth.dc1.internal:5001/token'))).toBe(false);
  });
});
