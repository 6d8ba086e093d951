/**
 * k3s datastore snapshots and the restore k3s documents: `k3s etcd-snapshot
 * save` on a server; to restore, the service stopped everywhere, `k3s server
 * --cluster-reset --cluster-reset-restore-path=FILE` on one server (it exits
 * when done), the other servers' `server/db` removed before they rejoin. The
 * token in config.yaml must be the one the snapshot's bootstrap data was
 * encrypted with; k3s refuses otherwise, and so does this.
 */
import { PalisadeError } from '../core/errors.ts';
import { redact } from '../core/log.ts';
import { sh } from '../core/quote.ts';
import type { RemoteHost } from '../hosts/types.ts';
import { K3S_PATHS, unitName } from './k3s-render.ts';
import type { NodeSpec, SnapshotRef } from './types.ts';

const lastLine = (s: string): string => s.trim().split('\n').filter(Boolean).pop()?.trim() ?? '';

/** the data dir config.yaml names (only that line is read: the file also holds the token) */
export async function configuredDataDir(host: RemoteHost): Promise<string> {
  const r = await host.exec(sh`sed -n 's/^data-dir: *//p' ${K3S_PATHS.config} 2>/dev/null | head -1`, { sudo: true });
  const v = r.stdout.trim();
  if (!v) return K3S_PATHS.defaultDataDir;
  try {
    return JSON.parse(v) as string;
  } catch {
    return v.replace(/^['"]|['"]$/g, '');
  }
}

const snapshotDir = (dataDir: string): string => `${dataDir}/server/db/snapshots`;

export async function saveSnapshot(host: RemoteHost, name: string): Promise<SnapshotRef> {
  const r = await host.exec(sh`${K3S_PATHS.binary} etcd-snapshot save --name ${name}`, { sudo: true, timeoutMs: 600_000 });
  if (r.code !== 0)
    throw new PalisadeError('cluster.snapshot', `${host.name}: k3s etcd-snapshot save failed: ${redact.apply(lastLine(r.stderr) || `exit ${r.code}`)}`, {
      hint: `check \`journalctl -u k3s\` on ${host.name}; the datastore must be up`,
    });
  // k3s logs "Snapshot <name> saved." and keeps it under <data-dir>/server/db/snapshots
  const saved = /Snapshot (\S+) saved/.exec(`${r.stderr}\n${r.stdout}`)?.[1];
  if (!saved) throw new PalisadeError('cluster.snapshot', `${host.name}: k3s etcd-snapshot save did not say which snapshot it wrote: ${lastLine(r.stderr)}`);
  const path = `${snapshotDir(await configuredDataDir(host))}/${saved}`;
  const t = await host.exec(sh`stat -c %s ${path}`, { sudo: true });
  if (t.code !== 0) throw new PalisadeError('cluster.snapshot', `${host.name}: k3s reported snapshot ${saved} but ${path} is not there`);
  return { name: saved, path, size: Number(t.stdout.trim()) };
}

/** `k3s etcd-snapshot ls`: Name Location Size Created, one snapshot a line after the heading */
export function parseSnapshotList(text: string): SnapshotRef[] {
  const out: SnapshotRef[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 3 || f[0] === 'Name' || !f[1]!.startsWith('file://')) continue;
    out.push({ name: f[0]!, path: f[1]!.slice('file://'.length), size: Number(f[2]), ...(f[3] ? { createdAt: f[3] } : {}) });
  }
  return out;
}

export async function listSnapshots(host: RemoteHost): Promise<SnapshotRef[]> {
  const r = await host.exec(sh`${K3S_PATHS.binary} etcd-snapshot ls 2>/dev/null`, { sudo: true });
  if (r.code !== 0) throw new PalisadeError('cluster.snapshot', `${host.name}: k3s etcd-snapshot ls failed (exit ${r.code})`);
  return parseSnapshotList(r.stdout);
}

export async function stopService(host: RemoteHost, node: NodeSpec): Promise<void> {
  await host.exec(sh`systemctl stop ${unitName(node.role)} 2>/dev/null || true`, { sudo: true, check: true });
}

/**
 * Cluster-reset restore on a stopped server whose files (binary, config.yaml
 * with the original token) are in place. k3s exits once the datastore is
 * rebuilt from the file; the node is then marked initialised, so starting it
 * never takes it for a half-made first controller.
 */
export async function clusterResetRestore(host: RemoteHost, snapshotPath: string, o: { timeoutMs?: number } = {}): Promise<void> {
  const r = await host.exec(sh`${K3S_PATHS.binary} server --cluster-reset ${`--cluster-reset-restore-path=${snapshotPath}`}`, {
    sudo: true,
    timeoutMs: o.timeoutMs ?? 600_000,
  });
  const text = redact.apply(`${r.stderr}\n${r.stdout}`);
  if (/different token/.test(text)) {
    throw new PalisadeError(
      'restore.token',
      `${host.name}: k3s refused the snapshot: its bootstrap data was encrypted with a different token than config.yaml holds`,
      {
        hint: 'the restore must use the cluster token from the backup (secrets/cluster-token); it was not put in place on this host',
      },
    );
  }
  if (r.code !== 0)
    throw new PalisadeError('restore.cluster-reset', `${host.name}: k3s --cluster-reset failed (exit ${r.code}): ${lastLine(text)}`, {
      hint: `the service is stopped; the snapshot is at ${snapshotPath}. Fix the cause and run the restore again`,
    });
  await host.exec(sh`touch ${K3S_PATHS.initialized}`, { sudo: true, check: true });
}

/** A server that rejoins after a restore starts from an empty datastore (k3s: "delete server/db on each peer"). */
export async function clearDatastore(host: RemoteHost, dataDir: string): Promise<boolean> {
  const r = await host.exec(sh`if [ -d ${`${dataDir}/server/db`} ]; then rm -rf -- ${`${dataDir}/server/db`} && echo cleared; fi`, { sudo: true, check: true });
  return r.stdout.trim() === 'cleared';
}
