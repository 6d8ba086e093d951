import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolveTrustedKey } from '../bundle/trust.ts';
import { k3sDriver } from '../cluster/k3s.ts';
import type { ClusterDriver } from '../cluster/types.ts';
import type { LoadedConfig } from '../config/load.ts';
import { topology } from '../config/topology.ts';
import { EXIT, usageError } from '../core/errors.ts';
import { log } from '../core/log.ts';
import { connectHosts } from '../hosts/index.ts';
import { keystorePath } from '../keystore/index.ts';
import { KeystoreSession } from '../keystore/session.ts';
import { keySetInput } from '../pki/keyset-input.ts';
import { Journal } from '../state/journal.ts';
import { acquireLocalLock, type LocalLock } from '../state/lock.ts';
import { stateDir, stateFiles } from '../state/paths.ts';
import { upgradeReportPath } from '../upgrade/state.ts';
import type { InstallContext } from './install/context.ts';
import { KeyAccess } from './install/shared/keys.ts';
import { journalRecorder } from './journal-recorder.ts';
import { renderersFor, type OutputMode } from './render/index.ts';
import { runPhases } from './runner.ts';
import type { RunObserver, RunResult } from './types.ts';
import type { UpgradeContext } from './upgrade/context.ts';
import { UPGRADE_PHASES } from './upgrade/index.ts';
import type { UpgradeReport } from './upgrade/report.ts';

/** `palisade upgrade`: check the flags, lock (the install lock: one run at a time), journal, run the upgrade phases, release everything. */
export interface UpgradeOptions {
  loaded: LoadedConfig;
  bundle: string;
  trustedKey?: string;
  dryRun?: boolean;
  waitForWindow?: boolean;
  ignoreWindow?: boolean;
  yes?: boolean;
  forceDrain?: boolean;
  output?: OutputMode;
  passphraseFile?: string;
  connect?: InstallContext['connect'];
  driver?: ClusterDriver;
  observers?: RunObserver[];
  signal?: AbortSignal;
  now?: () => number;
}

export interface UpgradeOutcome {
  result: RunResult;
  stateDir: string;
  report?: UpgradeReport;
}

export async function runUpgrade(o: UpgradeOptions): Promise<UpgradeOutcome> {
  const { config, baseDir, path } = o.loaded;
  if (o.ignoreWindow && !o.yes) throw usageError('upgrade.ignore-window', '--ignore-window is the emergency override and needs --yes with it', 'add --yes (the report records that the windows were ignored), or leave it out to upgrade inside a window');
  if (o.ignoreWindow && o.waitForWindow) throw usageError('upgrade.flags', 'give --wait-for-window or --ignore-window, not both');
  const dir = stateDir(baseDir, config.cluster.name);
  const files = stateFiles(dir);
  const trustedKey = await resolveTrustedKey({ ...(o.trustedKey ? { trustedKey: o.trustedKey } : {}), config: path, configExplicit: true });
  const runId = randomUUID();
  let lock: LocalLock | undefined;
  let journal: Journal | undefined;
  if (!o.dryRun) {
    lock = await acquireLocalLock(files.lock, { command: `upgrade --bundle ${o.bundle}`, runId });
    if (lock.tookOver) log.warn(`took over a stale lock of pid ${lock.tookOver.pid} (that run is gone)`);
    journal = await Journal.open(files.journal, config.cluster.name);
    await journal.startRun(runId, 'upgrade');
  } else {
    journal = (await Journal.read(files.journal)) ? await Journal.open(files.journal, config.cluster.name) : undefined;
  }
  const ac = new AbortController();
  o.signal?.addEventListener('abort', () => ac.abort(), { once: true });
  let sigints = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (++sigints > 1) {
      lock?.release();
      process.exit(EXIT.interrupted);
    }
    log.warn(`${sig}: stopping after the current step (press Ctrl-C again to leave at once)`);
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const ksPath = keystorePath(baseDir, config.cluster.name);
  const session = new KeystoreSession({ path: ksPath, cluster: config.cluster.name, ...(o.passphraseFile ? { passphraseFile: o.passphraseFile } : {}) });
  const ctx: UpgradeContext = {
    config, topology: topology(config), configPath: path, baseDir, stateDir: dir, bundlePath: o.bundle, trustedKey, runId, journal,
    driver: o.driver ?? k3sDriver,
    signal: ac.signal,
    connect: o.connect ?? ((c, b) => connectHosts(c, b)),
    keys: new KeyAccess({ session, input: keySetInput(config) }),
    keystorePath: ksPath,
    clusterTimeoutMs: Number(process.env.PALISADE_CLUSTER_TIMEOUT_MS ?? 300_000),
    loaded: o.loaded,
    waitForWindow: !!o.waitForWindow,
    ignoreWindow: !!o.ignoreWindow,
    forceDrain: !!o.forceDrain,
    now: o.now ?? Date.now,
    passphrase: () => session.passphrase(),
  };
  let result: RunResult | undefined;
  try {
    result = await runPhases({
      phases: UPGRADE_PHASES, ctx,
      ...(journal ? { journal } : {}),
      dryRun: !!o.dryRun,
      concurrency: config.ssh.concurrency,
      observers: [...(journal && !o.dryRun ? [journalRecorder(journal)] : []), ...renderersFor(o.output ?? 'text'), ...(o.observers ?? [])],
      signal: ac.signal,
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (journal && !o.dryRun) await journal.endRun(runId, !result ? 'failed' : result.interrupted ? 'interrupted' : result.ok ? 'done' : 'failed').catch(() => undefined);
    lock?.release();
  }
  let report: UpgradeReport | undefined;
  if (result.ok && !o.dryRun && !result.upToDate) report = JSON.parse(await readFile(upgradeReportPath(dir), 'utf8').catch(() => 'null')) as UpgradeReport | undefined ?? undefined;
  return { result, stateDir: dir, ...(report ? { report } : {}) };
}
