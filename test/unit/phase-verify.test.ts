import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HOSTS, VERIFY_RESULT } from '../../installer/phases/install/outputs.ts';
import { manifestObjects } from '../../installer/phases/install/shared/cluster.ts';
import { verifyPhase } from '../../installer/phases/install/verify.ts';
import { OutputStore } from '../../installer/phases/outputs.ts';
import { generateKeySet } from '../../installer/pki/keyset.ts';
import { stateFiles } from '../../installer/state/paths.ts';
import { harness } from '../fixtures/install-harness.ts';
import { registryService } from '../fixtures/registry-host.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** An installed appliance on fake hosts: every controller's API answers /readyz to the admin client certificate. */
async function installed() {
  const h = await harness({ keys: true });
  const keys = await h.ctx.keys.keySet();
  const client = keys.hosts.host1!.client;
  const kc = stateFiles(h.ctx.stateDir).kubeconfig;
  await mkdir(dirname(kc), { recursive: true });
  await writeFile(
    kc,
    `apiVersion: v1\nclusters:\n- cluster: { certificate-authority-data: ${b64(keys.rootCa.certPem)}, server: 'https://palisade.unit.internal:6443' }\n  name: unit\nusers:\n- user: { client-certificate-data: ${b64(client.certPem)}, client-key-data: ${b64(client.keyPem)} }\n  name: admin\n`,
  );
  for (const n of ['host1', 'host2', 'host3']) {
    h.hosts
      .get(n)!
      .serve(6443, { cert: keys.api.chainPem, key: keys.api.keyPem, ca: keys.rootCa.certPem + keys.intermediateCa.certPem, requestCert: true }, (_req, res) =>
        res.end('ok'),
      );
  }
  registryService(h.hosts.get('host1')!, keys, { running: true });
  h.driver.allReady(['host1', 'host2', 'host3', 'host4']);
  await h.driver.apply(h.hosts.get('host1')!, await manifestObjects(h.ctx, OutputStore.of([[HOSTS, h.hosts]])));
  h.driver.calls.length = 0;
  return h;
}

describe('verify phase', () => {
  it('checks the API through the FQDN on every controller, the nodes, the registry and the secrets, and hands the result on', async () => {
    const h = await installed();
    const { result } = await h.run(verifyPhase);
    expect(result.ok, String(result.failed?.error)).toBe(true);
    const v = result.outputs.get(VERIFY_RESULT);
    expect(v.checks.map((c) => `${c.name}: ${c.ok}`)).toEqual([
      'API palisade.unit.internal on host1: true',
      'API palisade.unit.internal on host2: true',
      'API palisade.unit.internal on host3: true',
      'nodes Ready: true',
      'registry https://10.0.0.1:5000: true',
      'secrets in palisade-system: true',
    ]);
  });

  it("on palisade's cluster CAs each API is checked with the palisade root alone: one that serves another CA's certificate fails; on the cluster's own CAs the kubeconfig's is trusted", async () => {
    const other = await generateKeySet({
      cluster: 'other',
      fqdn: 'palisade.unit.internal',
      hosts: [{ name: 'host1', address: '10.0.0.1', role: 'controller' }],
    });
    const serveOther = async (h: Awaited<ReturnType<typeof installed>>) => {
      const keys = await h.ctx.keys.keySet();
      const kc = stateFiles(h.ctx.stateDir).kubeconfig;
      const client = keys.hosts.host1!.client;
      // a kubeconfig that trusts the other CA: what k3s writes when it made its own
      await writeFile(
        kc,
        `apiVersion: v1\nclusters:\n- cluster: { certificate-authority-data: ${b64(other.rootCa.certPem)}, server: 'https://palisade.unit.internal:6443' }\n  name: unit\nusers:\n- user: { client-certificate-data: ${b64(client.certPem)}, client-key-data: ${b64(client.keyPem)} }\n  name: admin\n`,
      );
      h.hosts
        .get('host2')!
        .serve(
          6443,
          { cert: other.api.chainPem, key: other.api.keyPem, ca: keys.rootCa.certPem + keys.intermediateCa.certPem, requestCert: true },
          (_req, res) => res.end('ok'),
        );
    };
    const h = await installed();
    await serveOther(h);
    const { result } = await h.run(verifyPhase);
    expect(result.ok).toBe(false);
    expect(
      result.outputs
        .get(VERIFY_RESULT)
        .checks.filter((c) => !c.ok)
        .map((c) => c.name),
    ).toContain('API palisade.unit.internal on host2');
    const own = await installed();
    own.driver.caInUse = 'own';
    await serveOther(own);
    const r2 = await own.run(verifyPhase);
    expect(r2.result.outputs.get(VERIFY_RESULT).checks.find((c) => c.name === 'API palisade.unit.internal on host2')?.ok).toBe(true);
  });

  it('changes nothing: no upload, no apply', async () => {
    const h = await installed();
    await h.run(verifyPhase);
    for (const host of h.hosts.values()) expect(host.uploads).toEqual([]);
    expect(h.driver.calls).toEqual([]);
  });

  it('a controller whose API does not answer fails install.verify, naming it; the result is still handed on', async () => {
    const h = await installed();
    h.hosts.get('host3')!.stop(6443);
    const { result } = await h.run(verifyPhase);
    expect(result.failed?.error).toMatchObject({ code: 'install.verify', details: [{ path: 'API palisade.unit.internal on host3' }] });
    expect(result.outputs.get(VERIFY_RESULT).ok).toBe(false);
  });

  it('a dry run lists it and runs no check', async () => {
    const h = await installed();
    const { result } = await h.run(verifyPhase, { dryRun: true });
    expect(result.plan).toEqual([{ phase: 'verify', lines: [verifyPhase.title], readOnly: true }]);
    for (const host of h.hosts.values()) expect(host.commands).toEqual([]);
  });
});
