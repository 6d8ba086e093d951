/**
 * The k3s stand-in's side of a rolling upgrade, run on this machine (started directly, a loopback
 * port): each binary reports its own version to the cluster, kubectl cordon/drain/uncordon, and a
 * Pod Disruption Budget that makes a drain block until its timeout, naming the pod as kubectl does.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { drainBlockers } from '../../installer/cluster/k3s-upgrade.ts';

const standin = resolve(import.meta.dirname, '../../scripts/bundle/k3s-standin/k3s');
const procs: ChildProcess[] = [];
afterAll(() => {
  for (const p of procs) p.kill('SIGTERM');
});

const freePort = (): Promise<number> =>
  new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });

async function until(fn: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** the stand-in as a bundle of that version ships it */
async function binaryAt(dir: string, version: string): Promise<string> {
  const p = join(dir, `k3s-${version}`);
  await writeFile(p, (await readFile(standin, 'utf8')).replace(/^VERSION = "[^"]*"$/m, `VERSION = "${version}"`));
  await chmod(p, 0o755);
  return p;
}

describe('k3s stand-in: upgrade verbs', () => {
  it("nodes report their binary's version; a drain blocked by a budget times out naming the pod; cordon and uncordon show", async () => {
    const d = await mkdtemp(join(tmpdir(), 'k3s-standin-up-'));
    const port = await freePort();
    const [newer, older] = [await binaryAt(d, 'v1.30.6+k3s1'), await binaryAt(d, 'v1.30.2+k3s1')];
    await writeFile(
      join(d, 's1.yaml'),
      `token: "the-token-123456"\nnode-name: "s1"\ndata-dir: "${join(d, 's1')}"\nwrite-kubeconfig: "${join(d, 'kc')}"\nhttps-listen-port: ${port}\n`,
    );
    await writeFile(join(d, 'w1.yaml'), `token: "the-token-123456"\nnode-name: "w1"\nserver: "https://127.0.0.1:${port}"\n`);
    let log = '';
    const run = (bin: string, cfg: string, role: string) => {
      const p = spawn(bin, [role], { env: { ...process.env, K3S_CONFIG_FILE: join(d, cfg) }, stdio: ['ignore', 'ignore', 'pipe'] });
      p.stderr!.on('data', (c: Buffer) => (log += c.toString()));
      procs.push(p);
    };
    run(newer, 's1.yaml', 'server');
    await until(() => log.includes('k3s is up and running'));
    run(older, 'w1.yaml', 'agent');
    await until(() => log.includes('k3s agent is up and running'));
    const kubectl = (args: string[], input?: string) =>
      spawnSync(newer, ['kubectl', ...args], { env: { ...process.env, KUBECONFIG: join(d, 'kc') }, input, encoding: 'utf8' });
    await until(() => kubectl(['get', 'nodes']).stdout.includes('w1'));
    const table = kubectl(['get', 'nodes']).stdout;
    expect(table).toMatch(/^s1\s+Ready\s+\S+\s+v1\.30\.6\+k3s1$/m);
    expect(table).toMatch(/^w1\s+Ready\s+<none>\s+v1\.30\.2\+k3s1$/m);

    const objs = {
      kind: 'List',
      items: [
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
        { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-0', namespace: 'shop', labels: { app: 'web' } }, spec: { nodeName: 'w1' } },
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'log-agent', namespace: 'shop', ownerReferences: [{ kind: 'DaemonSet', name: 'log' }] },
          spec: { nodeName: 'w1' },
        },
        {
          apiVersion: 'policy/v1',
          kind: 'PodDisruptionBudget',
          metadata: { name: 'web', namespace: 'shop' },
          spec: { maxUnavailable: 0, selector: { matchLabels: { app: 'web' } } },
        },
      ],
    };
    expect(kubectl(['apply', '-f', '-'], JSON.stringify(objs)).status).toBe(0);
    const t0 = Date.now();
    const blocked = kubectl(['drain', 'w1', '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=2s']);
    expect(blocked.status).toBe(1);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2000);
    expect(blocked.stdout).toContain('node/w1 cordoned');
    expect(drainBlockers(blocked.stderr)).toEqual(['shop/web-0']);
    expect(kubectl(['get', 'nodes']).stdout).toMatch(/^w1\s+Ready,SchedulingDisabled/m);
    expect(JSON.parse(kubectl(['get', 'node', 'w1', '-o', 'json']).stdout).spec).toEqual({ unschedulable: true });

    expect(kubectl(['delete', 'pdb', 'web', '-n', 'shop']).status).toBe(0);
    const ok = kubectl(['drain', 'w1', '--ignore-daemonsets', '--timeout=5s']);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('node/w1 already cordoned');
    expect(ok.stdout).toContain('pod/web-0 evicted');
    expect(ok.stdout).toContain('node/w1 drained');
    expect(kubectl(['get', 'pods', '-n', 'shop', '-o', 'name']).stdout.trim()).toBe('pod/log-agent'); // a DaemonSet's pod stays
    expect(kubectl(['uncordon', 'w1']).stdout).toBe('node/w1 uncordoned\n');
    expect(kubectl(['get', 'nodes']).stdout).toMatch(/^w1\s+Ready\s/m);
  });

  it("the driver reads the blockers from kubectl's own drain errors", () => {
    const stderr = `error when evicting pods/"web-0" -n "shop" (will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget.
error: unable to drain node "w1" due to error: [error when evicting pods/"web-0" -n "shop": global timeout reached: 10s, error when evicting pods/"db-1" -n "data": global timeout reached: 10s], continuing command...`;
    expect(drainBlockers(stderr)).toEqual(['data/db-1', 'shop/web-0']);
    expect(drainBlockers('error: node "w1" not found')).toEqual([]);
  });
});
