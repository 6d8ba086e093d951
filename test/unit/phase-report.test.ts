import { existsSync, readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BUNDLE, VERIFY_RESULT } from '../../installer/phases/install/outputs.ts';
import { reportPhase } from '../../installer/phases/install/report.ts';
import { stateFiles } from '../../installer/state/paths.ts';
import { fakeBundle, harness } from '../fixtures/install-harness.ts';

describe('report phase', () => {
  it('writes the report (0600) with endpoints, certificates, verification and the bundle; and its summary', async () => {
    const h = await harness({ keys: true });
    const verify = { ok: true, checks: [{ name: 'nodes Ready', ok: true, detail: '3 node(s) Ready' }] };
    const { result } = await h.run(reportPhase, {
      outputs: [
        [BUNDLE, fakeBundle(h.dir)],
        [VERIFY_RESULT, verify],
      ],
    });
    expect(result.ok).toBe(true);
    const files = stateFiles(h.ctx.stateDir);
    const r = JSON.parse(readFileSync(files.report, 'utf8'));
    expect(statSync(files.report).mode & 0o777).toBe(0o600);
    expect(r).toMatchObject({ cluster: 'unit', bundle: { name: 'unit', version: '1.0.0' }, versions: { cluster: 'v1.31.4+fake' }, verify });
    expect(r.certificates.map((c: { name: string }) => c.name)).toEqual(expect.arrayContaining(['ca/root', 'tls/registry']));
    expect(readFileSync(files.summary, 'utf8')).toMatch(/^palisade appliance "unit" is installed and verified/);
  });

  it("lists the cluster's CAs when the cluster runs on palisade's; for one on k3s's own CAs, notes it and lists none", async () => {
    const h = await harness({ keys: true });
    await h.run(reportPhase);
    const names = (): string[] => JSON.parse(readFileSync(stateFiles(h.ctx.stateDir).report, 'utf8')).certificates.map((c: { name: string }) => c.name);
    expect(names()).toEqual(
      expect.arrayContaining(['ca/cluster/server', 'ca/cluster/client', 'ca/cluster/request-header', 'ca/cluster/etcd-peer', 'ca/cluster/etcd-server']),
    );
    expect(names()).not.toContain('tls/api');
    const old = await harness({ keys: true });
    old.driver.caInUse = 'own';
    await old.run(reportPhase);
    const r = JSON.parse(readFileSync(stateFiles(old.ctx.stateDir).report, 'utf8'));
    expect(r.certificates.map((c: { name: string }) => c.name).filter((n: string) => n.startsWith('ca/cluster/'))).toEqual([]);
    expect(r.notes.map((n: { note: string }) => n.note).join('\n')).toMatch(
      /runs on the CAs fake-k8s made itself.*does not chain to the palisade root.*leaves them as they are/,
    );
  });

  it('a keystore made before palisade provided the cluster CAs still reads (upgrade, restore, status use it): the cluster is on its own', async () => {
    const h = await harness({ keys: true });
    const saved = h.keystores.saved.get(h.ctx.keystorePath)!;
    for (const n of [...saved.keys()]) if (n.startsWith('ca/cluster/')) saved.delete(n);
    const { result } = await h.run(reportPhase);
    expect(result.ok, String(result.failed?.error)).toBe(true);
    const r = JSON.parse(readFileSync(stateFiles(h.ctx.stateDir).report, 'utf8'));
    expect(r.certificates.map((c: { name: string }) => c.name).filter((n: string) => n.startsWith('ca/cluster/'))).toEqual([]);
    expect(r.notes.map((n: { note: string }) => n.note).join('\n')).toMatch(/runs on the CAs fake-k8s made itself/);
  });

  it('changes nothing on any host', async () => {
    const h = await harness({ keys: true });
    await h.run(reportPhase);
    for (const host of h.hosts.values()) expect(host.uploads).toEqual([]);
  });

  it('without the cluster keys it fails with install.keys and writes no report', async () => {
    const h = await harness();
    const { result } = await h.run(reportPhase);
    expect(result.failed?.error).toMatchObject({ code: 'install.keys' });
    expect(existsSync(stateFiles(h.ctx.stateDir).report)).toBe(false);
  });

  it('a dry run lists it and writes nothing', async () => {
    const h = await harness({ keys: true });
    const { result } = await h.run(reportPhase, { dryRun: true });
    expect(result.plan).toEqual([{ phase: 'report', lines: ['Write the install report'], readOnly: true }]);
    expect(existsSync(stateFiles(h.ctx.stateDir).report)).toBe(false);
  });
});
