import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline/promises';
import { k3sDriver } from '../../cluster/k3s.ts';
import type { ClusterDriver } from '../../cluster/types.ts';
import type { LoadedConfig } from '../../config/load.ts';
import { topology } from '../../config/topology.ts';
import { EXIT, PalisadeError, usageError } from '../../core/errors.ts';
import { closeAll, connectHosts } from '../../hosts/index.ts';
import { acquireHostLocks } from '../../state/host-lock.ts';
import { acquireLocalLock } from '../../state/lock.ts';
import { stateDir, stateFiles } from '../../state/paths.ts';
import { rollbackHost } from '../../upgrade/host-step.ts';
import { apiHostOf, healthProblems } from '../../upgrade/live.ts';
import { readUpgradeState, writeUpgradeState } from '../../upgrade/state.ts';
import { parseVersion } from '../../upgrade/versions.ts';

/**
 * `palisade upgrade rollback`: the hosts the last upgrade touched go back to
 * the binary kept on each, in reverse order (workers first, the first
 * controller last), each through the same health gate. A datastore that was
 * migrated to a new minor version cannot go back this way: then it says so and
 * points at `palisade restore` with the pre-upgrade backup.
 */
export interface RollbackOptions {
  loaded: LoadedConfig;
  yes?: boolean;
  driver?: ClusterDriver;
  progress?: (line: string) => void;
  signal?: AbortSignal;
}

export interface RollbackOutcome {
  rolledBack: Array<{ host: string; to: string }>;
  nothing: boolean;
}

export async function runRollback(o: RollbackOptions): Promise<RollbackOutcome> {
  const { config, baseDir } = o.loaded;
  const dir = stateDir(baseDir, config.cluster.name);
  const state = await readUpgradeState(dir);
  const run = state.current;
  const t = topology(config);
  const touched = run ? t.nodes.filter((n) => ['done', 'failed', 'running'].includes(run.hosts[n.name]?.status ?? '')).reverse() : [];
  if (!run || touched.length === 0) return { rolledBack: [], nothing: true };
  const minorChange = touched.filter((n) => {
    const a = parseVersion(run.hosts[n.name]!.from ?? '');
    const b = parseVersion(run.target);
    return !a || !b || a.major !== b.major || a.minor !== b.minor;
  });
  if (minorChange.length) {
    throw new PalisadeError(
      'upgrade.rollback-datastore',
      `the upgrade to ${run.target} crossed a minor version on ${minorChange.map((n) => n.name).join(', ')}: the datastore was migrated and cannot go back by swapping binaries`,
      {
        hint: run.backup
          ? `restore the pre-upgrade backup: palisade restore ${run.backup}`
          : 'restore the cluster from a backup taken before the upgrade with `palisade restore`',
      },
    );
  }
  if (!o.yes) {
    if (!process.stdin.isTTY)
      throw usageError(
        'upgrade.confirm',
        `rollback restarts ${touched.map((n) => n.name).join(', ')} on their previous binary and no terminal is there to confirm`,
        'pass --yes to go ahead',
      );
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    const a = await rl.question(`Roll back ${touched.map((n) => n.name).join(', ')} from ${run.target}? [y/N] `);
    rl.close();
    if (!/^y(es)?$/i.test(a.trim())) throw new PalisadeError('upgrade.cancelled', 'cancelled: nothing was changed', { exitCode: EXIT.failure });
  }
  const runId = randomUUID();
  const lock = await acquireLocalLock(stateFiles(dir).lock, { command: 'upgrade rollback', runId });
  const { hosts, failures } = await connectHosts(config, baseDir);
  const progress = o.progress ?? (() => undefined);
  const signal = o.signal ?? new AbortController().signal;
  const driver = o.driver ?? k3sDriver;
  const out: RollbackOutcome = { rolledBack: [], nothing: false };
  let locks: Awaited<ReturnType<typeof acquireHostLocks>> | undefined;
  try {
    if (failures.length)
      throw new PalisadeError('upgrade.connect', `${failures.length} host(s) could not be reached: ${failures.map((f) => f.name).join(', ')}`, {
        hint: 'bring them back, then run the rollback again',
      });
    locks = await acquireHostLocks([...hosts.values()], { runId, concurrency: config.ssh.concurrency });
    const live = { config, hosts, driver, kubeconfigPath: stateFiles(dir).kubeconfig };
    for (const n of touched) {
      const rec = run.hosts[n.name]!;
      progress(`${n.name}: back to ${rec.from}`);
      await rollbackHost({
        driver,
        host: hosts.get(n.name)!,
        node: n,
        version: rec.from!,
        signal,
        progress,
        api: async () => (await apiHostOf(live, [n.name])) ?? hosts.get(t.firstController.name)!,
        readyTimeoutMs: Number(process.env.PALISADE_CLUSTER_TIMEOUT_MS ?? 300_000),
        health: () => healthProblems(live),
      });
      rec.status = 'rolled-back';
      await writeUpgradeState(dir, state);
      out.rolledBack.push({ host: n.name, to: rec.from! });
    }
    run.status = 'rolled-back';
    run.finishedAt = new Date().toISOString();
    await writeUpgradeState(dir, state);
  } finally {
    await locks?.release().catch(() => undefined);
    await closeAll(hosts);
    lock.release();
  }
  return out;
}
