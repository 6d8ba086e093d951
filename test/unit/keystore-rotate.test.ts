import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../installer/config/load.ts';
import { createKeystore } from '../../installer/keystore/index.ts';
import { KeystoreSession } from '../../installer/keystore/session.ts';
import { generateKeys, pruneEntries, rotateEntry, type ClusterKeystore } from '../../installer/actions/keys.ts';

const dir = mkdtempSync(join(tmpdir(), 'rotate-'));
const pem = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};
const verify = (root: string, chain: string, leaf: string) =>
  execFileSync('openssl', ['verify', '-CAfile', root, '-untrusted', chain, leaf], { encoding: 'utf8', stdio: 'pipe' });

async function cluster(): Promise<ClusterKeystore> {
  const loaded = await parseConfig(
    [
      'apiVersion: palisade/v1',
      'cluster: { name: demo, fqdn: palisade.lab.internal, vip: 10.0.0.100 }',
      'hosts:',
      '  - { name: host1, address: 10.0.0.1, role: controller }',
      '',
    ].join('\n'),
    join(dir, 'palisade.yaml'),
  );
  const path = join(mkdtempSync(join(tmpdir(), 'rotate-ks-')), 'keystore');
  const ks = await createKeystore(path, { cluster: 'demo', passphrase: 'rotation passphrase', kdf: { N: 1024, r: 8, p: 1 } });
  const c = { loaded, path, ks, session: new KeystoreSession({ path }), passphrase: 'rotation passphrase', created: true };
  await generateKeys(c);
  return c;
}

describe('keys rotate', () => {
  it('an intermediate rotated: new leaves chain to the new one, old leaves still verify with the kept previous one', async () => {
    const c = await cluster();
    const root = pem('root.pem', c.ks.get('ca/root')!.meta!.cert!);
    const oldInt = pem('int-old.pem', c.ks.get('ca/intermediate')!.meta!.cert!);
    const oldApi = pem('api-old.pem', c.ks.get('tls/api')!.meta!.cert!);
    const oldIntPem = c.ks.get('ca/intermediate')!.meta!.cert!;
    const r = await rotateEntry(c, 'ca/intermediate');
    expect(r.notes.join()).toMatch(/leaf certificates issued before still chain to the previous intermediate/);
    const newInt = pem('int-new.pem', c.ks.get('ca/intermediate')!.meta!.cert!);
    expect(c.ks.get('ca/intermediate@prev')!.meta!.cert).toBe(oldIntPem);
    expect(c.ks.get('ca/intermediate')!.meta!.cert).not.toBe(oldIntPem);
    expect(verify(root, newInt, newInt)).toMatch(/OK/);
    await rotateEntry(c, 'tls/api');
    const newApi = pem('api-new.pem', c.ks.get('tls/api')!.meta!.cert!);
    expect(verify(root, newInt, newApi)).toMatch(/OK/);
    expect(() => verify(root, oldInt, newApi)).toThrow();
    expect(verify(root, pem('int-prev.pem', c.ks.get('ca/intermediate@prev')!.meta!.cert!), oldApi)).toMatch(/OK/);
    expect((await pruneEntries(c)).sort()).toEqual(['ca/intermediate@prev', 'tls/api@prev']);
  });

  it('secrets get new values; recovery keys and imported certificates are not rotated here', async () => {
    const c = await cluster();
    const before = c.ks.get('secret/secrets-at-rest')!.value;
    await rotateEntry(c, 'secret/secrets-at-rest');
    expect(c.ks.get('secret/secrets-at-rest')!.value).not.toBe(before);
    expect(Buffer.from(c.ks.get('secret/secrets-at-rest')!.value, 'base64')).toHaveLength(32);
    expect(c.ks.get('secret/secrets-at-rest@prev')!.value).toBe(before);
    c.ks.put({ name: 'luks-recovery/host1/vdb', kind: 'luks-recovery', value: 'x'.repeat(20) });
    await expect(rotateEntry(c, 'luks-recovery/host1/vdb')).rejects.toMatchObject({ code: 'keys.rotate-luks' });
    c.ks.put({ name: 'tls/ingress', kind: 'ingress-tls', value: 'y'.repeat(20) });
    await expect(rotateEntry(c, 'tls/ingress')).rejects.toMatchObject({ code: 'keys.rotate-imported' });
    await expect(rotateEntry(c, 'secret/secrets-at-rest@prev')).rejects.toMatchObject({ code: 'keys.rotate-prev' });
    // the cluster keeps its CAs from its first start: a new one in the keystore would never reach it
    await expect(rotateEntry(c, 'ca/cluster/server')).rejects.toMatchObject({
      code: 'keys.rotate-cluster-ca',
      hint: expect.stringMatching(/k3s certificate rotate-ca/),
    });
  });
});
