import { mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PalisadeError } from '../../installer/core/errors.ts';
import { clusterPhase } from '../../installer/phases/install/cluster.ts';
import { BUNDLE } from '../../installer/phases/install/outputs.ts';
import { stateFiles } from '../../installer/state/paths.ts';
import { fakeBundle, harness } from '../fixtures/install-harness.ts';

const setup = async () => {
  const h = await harness({ keys: true });
  return { h, outputs: [[BUNDLE, fakeBundle(h.dir)] as const] };
};

describe('cluster phase', () => {
  it('puts the files on every node, starts the first controller, then the other controller and the worker, then writes the kubeconfig', async () => {
    const { h, outputs } = await setup();
    h.driver.kubeconfigText = 'apiVersion: v1\nkind: Config\nclusters: []\n';
    const { result, events } = await h.run(clusterPhase, { outputs });
    expect(result.ok).toBe(true);
    const calls = h.driver.calls.filter((c) => c !== 'kubeconfig');
    expect(calls.slice(0, 4).sort()).toEqual(['install host1', 'install host2', 'install host3', 'install host4']);
    expect(calls[4]).toBe('init host1');
    // the other controllers one at a time, the worker meanwhile
    expect(calls.slice(5).filter((c) => c.startsWith('join-server'))).toEqual(['join-server host2', 'join-server host3']);
    expect(calls.slice(5)).toContain('join-agent host4');
    const kc = stateFiles(h.ctx.stateDir).kubeconfig;
    expect((await stat(kc)).mode & 0o777).toBe(0o600);
    // each node is its own journaled step
    for (const n of ['host1', 'host2', 'host3', 'host4']) {
      expect(events).toContainEqual(expect.objectContaining({ phase: 'cluster', host: n, status: 'running' }));
      expect(events).toContainEqual(expect.objectContaining({ phase: 'cluster', host: n, status: 'done' }));
    }
  });

  it('a cluster that is up with every node Ready and the kubeconfig fetched is skipped', async () => {
    const { h, outputs } = await setup();
    h.driver.allReady(['host1', 'host2', 'host3', 'host4']);
    const kc = stateFiles(h.ctx.stateDir).kubeconfig;
    await mkdir(dirname(kc), { recursive: true });
    await writeFile(kc, 'kubeconfig');
    const { result, events } = await h.run(clusterPhase, { outputs });
    expect(events).toContainEqual(expect.objectContaining({ phase: 'cluster', status: 'skipped' }));
    expect(result.upToDate).toBe(true);
    expect(h.driver.calls).toEqual([]);
  });

  it('a worker that does not join fails the phase with its error, naming it; the controllers are up', async () => {
    const { h, outputs } = await setup();
    h.driver.failOn.set(
      'host4',
      new PalisadeError('cluster.not-ready', 'host4: k3s-agent did not become ready within 5 s: node host4 has not registered with the cluster'),
    );
    const { result, events } = await h.run(clusterPhase, { outputs });
    expect(result.failed?.error).toMatchObject({ code: 'cluster.not-ready', message: expect.stringMatching(/^host4: /) });
    expect(events).toContainEqual(expect.objectContaining({ phase: 'cluster', host: 'host4', status: 'failed' }));
    expect(events).toContainEqual(expect.objectContaining({ phase: 'cluster', host: 'host3', status: 'done' }));
    expect(events).toContainEqual(expect.objectContaining({ phase: 'cluster', host: 'host2', status: 'done' }));
    expect(h.driver.calls).not.toContain('kubeconfig');
  });

  it('a dry run lists the nodes in order and starts nothing', async () => {
    const { h, outputs } = await setup();
    const { result } = await h.run(clusterPhase, { outputs, dryRun: true });
    const lines = result.plan[0]!.lines;
    expect(lines.slice(0, 2)).toEqual(['install fake-k8s from the bundle on host1, host2, host3, host4', 'host1: start the cluster on it (first controller)']);
    // the other controllers and the workers start at the same time once the first is up
    expect(lines.slice(2, 5).sort()).toEqual(['host2: join it as a controller', 'host3: join it as a controller', 'host4: join it as a worker']);
    expect(lines.slice(5)).toEqual([`write the admin kubeconfig ${stateFiles(h.ctx.stateDir).kubeconfig}`]);
    expect(h.driver.calls).toEqual([]);
  });
});
