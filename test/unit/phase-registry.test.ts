import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUNDLE } from '../../installer/phases/install/outputs.ts';
import { registryPhase } from '../../installer/phases/install/registry.ts';
import { fakeBundle, harness } from '../fixtures/install-harness.ts';
import { registryService } from '../fixtures/registry-host.ts';

const setup = async () => {
  const h = await harness({ keys: true });
  await writeFile(join(h.dir, 'bin_registry'), '#!/bin/sh\n# registry\n');
  const keys = await h.ctx.keys.keySet();
  return { h, keys, outputs: [[BUNDLE, fakeBundle(h.dir)] as const] };
};

describe('registry phase', () => {
  it('installs the registry on the first controller (TLS from the keystore, 0640 key), starts it and checks it answers with our CA and credentials', async () => {
    const { h, keys, outputs } = await setup();
    const host1 = h.hosts.get('host1')!;
    const svc = registryService(host1, keys);
    const { result } = await h.run(registryPhase, { outputs });
    expect(result.ok, String(result.failed?.error)).toBe(true);
    expect(svc.running()).toBe(true);
    expect(host1.files.get('/etc/palisade/registry/tls.crt')?.data.toString()).toBe(keys.registry.chainPem);
    expect(host1.files.get('/etc/palisade/registry/tls.key')).toMatchObject({ mode: 0o640, owner: 'root:palisade-registry' });
    expect(svc.registry.requests).toContain('GET /v2/');
    for (const n of ['host2', 'host3', 'host4']) expect(h.hosts.get(n)!.commands).toEqual([]);
    // the key travels inside the upload, never on a command line
    for (const c of host1.commands) expect(c.command).not.toContain(keys.registry.keyPem.split('\n')[1]);
  });

  it('a registry running with our certificate and answering is skipped and nothing is uploaded', async () => {
    const { h, keys, outputs } = await setup();
    const host1 = h.hosts.get('host1')!;
    host1.file('/etc/palisade/registry/tls.crt', keys.registry.chainPem, 0o644);
    registryService(host1, keys, { running: true });
    const { result } = await h.run(registryPhase, { outputs });
    expect(result.upToDate).toBe(true);
    expect(host1.uploads).toEqual([]);
    expect(host1.ran(/systemctl restart/)).toEqual([]);
  });

  it('a registry host that is down is an error with its code naming it', async () => {
    const { h, outputs } = await setup();
    h.hosts.get('host1')!.down = true;
    const { result } = await h.run(registryPhase, { outputs });
    expect(result.failed?.error).toMatchObject({ code: 'ssh.disconnected', message: expect.stringMatching(/^host1: /) });
  });

  it('a dry run says where the registry would run and changes nothing', async () => {
    const { h, keys, outputs } = await setup();
    const host1 = h.hosts.get('host1')!;
    const svc = registryService(host1, keys);
    const { result } = await h.run(registryPhase, { outputs, dryRun: true });
    expect(result.plan[0]!.lines).toEqual(['host1: install and start palisade-registry at https://10.0.0.1:5000']);
    expect(host1.uploads).toEqual([]);
    expect(svc.running()).toBe(false);
  });
});
