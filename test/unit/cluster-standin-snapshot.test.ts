/**
 * The k3s stand-in's snapshots and restore, as k3s does them: `etcd-snapshot
 * save/ls` with the state on disk, `server --cluster-reset
 * --cluster-reset-restore-path` that exits once the datastore is rebuilt,
 * refusing a token other than the one the bootstrap data was sealed with, and
 * a peer whose datastore belongs to the old cluster refused until it is cleared.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSnapshotList } from '../../installer/cluster/k3s-snapshot.ts';

const k3s = resolve(import.meta.dirname, '../../scripts/bundle/k3s-standin/k3s');
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

function server(cfg: string): { proc: ChildProcess; log: () => string; exited: Promise<number | null> } {
  let log = '';
  const proc = spawn(k3s, ['server'], { env: { ...process.env, K3S_CONFIG_FILE: cfg }, stdio: ['ignore', 'ignore', 'pipe'] });
  proc.stderr!.on('data', (c: Buffer) => (log += c.toString()));
  procs.push(proc);
  return { proc, log: () => log, exited: new Promise((r) => proc.on('exit', (c) => r(c))) };
}

async function until(fn: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

const run = (cfg: string, args: string[], env: Record<string, string> = {}) =>
  spawnSync(k3s, args, { env: { ...process.env, K3S_CONFIG_FILE: cfg, ...env }, encoding: 'utf8' });

describe('k3s stand-in snapshots and cluster-reset restore', () => {
  it('save and ls; restore onto an empty data dir with the original token brings the objects back; another token is refused', async () => {
    const d = await mkdtemp(join(tmpdir(), 'k3s-snap-'));
    const [p1, p2] = [await freePort(), await freePort()];
    const cfg = (file: string, token: string, dataDir: string, port: number, extra = '') =>
      writeFile(
        join(d, file),
        `token: "${token}"\nnode-name: "s1"\ndata-dir: "${dataDir}"\nwrite-kubeconfig: "${join(d, `${file}.kubeconfig`)}"\ncluster-init: true\nhttps-listen-port: ${port}\n${extra}`,
      );
    await cfg('s1.yaml', 'original-token-1234', join(d, 'a'), p1);
    const s1 = server(join(d, 's1.yaml'));
    await until(() => s1.log().includes('k3s is up and running'));
    const kc = { KUBECONFIG: join(d, 's1.yaml.kubeconfig') };
    const marker = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'marker', namespace: 'default' }, data: { v: 'before' } });
    expect(spawnSync(k3s, ['kubectl', 'apply', '-f', '-'], { env: { ...process.env, ...kc }, input: marker, encoding: 'utf8' }).stdout).toBe(
      'configmap/marker created\n',
    );
    const saved = run(join(d, 's1.yaml'), ['etcd-snapshot', 'save', '--name', 'pre']);
    expect(saved.status, saved.stderr).toBe(0);
    const name = /Snapshot (\S+) saved/.exec(saved.stderr)?.[1];
    expect(name).toMatch(/^pre-s1-\d+$/);
    const ls = parseSnapshotList(run(join(d, 's1.yaml'), ['etcd-snapshot', 'ls']).stdout);
    expect(ls.map((s) => s.name)).toEqual([name]);
    expect(ls[0]!.size).toBeGreaterThan(100);
    const snap = ls[0]!.path;
    s1.proc.kill('SIGTERM');
    await s1.exited;

    // a rebuilt host: empty data dir; the wrong token is refused as k3s refuses it
    await cfg('wrong.yaml', 'some-other-token-99', join(d, 'b'), p2);
    const wrong = run(join(d, 'wrong.yaml'), ['server', '--cluster-reset', `--cluster-reset-restore-path=${snap}`]);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain('bootstrap data already found and encrypted with a different token');
    await rm(join(d, 'b'), { recursive: true, force: true });
    await cfg('right.yaml', 'original-token-1234', join(d, 'b'), p2);
    const reset = run(join(d, 'right.yaml'), ['server', '--cluster-reset', `--cluster-reset-restore-path=${snap}`]);
    expect(reset.status, reset.stderr).toBe(0);
    expect(reset.stderr).toContain('Managed etcd cluster membership has been reset, restart without --cluster-reset flag now');
    const s2 = server(join(d, 'right.yaml'));
    await until(() => s2.log().includes('k3s is up and running'));
    const got = spawnSync(k3s, ['kubectl', 'get', 'configmap', 'marker', '-o', 'jsonpath={.data.v}'], {
      env: { ...process.env, KUBECONFIG: join(d, 'right.yaml.kubeconfig') },
      encoding: 'utf8',
    });
    expect(got.stdout).toBe('before');

    // a peer that still holds the old cluster's datastore is refused until it is cleared
    const p3 = await freePort();
    const peerDir = join(d, 'peer');
    await writeFile(
      join(peerDir + '.yaml'),
      `token: "original-token-1234"\nnode-name: "s2"\ndata-dir: "${peerDir}"\nserver: "https://127.0.0.1:${p2}"\nhttps-listen-port: ${p3}\n`,
    );
    spawnSync('mkdir', ['-p', join(peerDir, 'server', 'db')]);
    await writeFile(join(peerDir, 'server', 'db', 'cluster-id'), 'feedfacefeedface\n');
    const stale = server(`${peerDir}.yaml`);
    expect(await stale.exited).toBe(1);
    expect(stale.log()).toMatch(/belongs to another cluster .*delete .*server\/db to rejoin/);
    await rm(join(peerDir, 'server', 'db'), { recursive: true });
    const peer = server(`${peerDir}.yaml`);
    await until(() => peer.log().includes('k3s is up and running'));
    expect(await readdir(join(peerDir, 'server', 'db'))).toContain('cluster-id');
  }, 60_000);
});
