import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline/promises';
import type { OpenKey } from '../../backup/age.ts';
import { resolveTrustedKey } from '../../bundle/trust.ts';
import { k3sDriver } from '../../cluster/k3s.ts';
import type { ClusterDriver } from '../../cluster/types.ts';
import type { LoadedConfig } from '../../config/load.ts';
import { EXIT, PalisadeError, usageError } from '../../core/errors.ts';
import { log } from '../../core/log.ts';
import { connectHosts } from '../../hosts/index.ts';
import { keystorePath } from '../../keystore/index.ts';
import { KeystoreSession } from '../../keystore/session.ts';
import { Journal } from '../../state/journal.ts';
import { acquireLocalLock, type LocalLock } from '../../state/lock.ts';
import { stateDir, stateFiles } from '../../state/paths.ts';
import { KeyAccess } from '../install/shared/keys.ts';
import { journalRecorder } from '../journal-recorder.ts';
import { renderersFor, type OutputMode } from '../render/index.ts';
import { runPhases, selectPhases } from '../runner.ts';
import type { RunObserver, RunResult } from '../types.ts';
import { keySetInput } from '../../pki/keyset-input.ts';
import { topology } from '../../config/topology.ts';
import type { RestoreContext } from './context.ts';
import { RESTORE_PHASES } from './index.ts';

/**
 * `palisade restore`: the install's machinery (one lock, the journal, the
 * orchestrator, dry-run, Ctrl-C between steps, resume by running it again)
 * around the restore phases.
 */
export interface RestoreOptions {
  loaded: LoadedConfig;
  file: string;
  openKey: OpenKey;
  /** the bundle with the k3s binary and the images (default: the one the install report names) */
  bundle?: string;
  trustedKey?: string;
  dryRun?: boolean;
  from?: string;
  only?: string;
  yes?: boolean;
  output?: OutputMode;
  passphraseFile?: string;
  connect?: RestoreContext['connect'];
  driver?: ClusterDriver;
  observers?: RunObserver[];
}

async function bundleFromReport(dir: string): Promise<string | undefined> {
  try {
    return (JSON.parse(await readFile(stateFiles(dir).report, 'utf8')) as { bundle?: { path?: string } }).bundle?.path;
  } catch {
    return undefined;
  }
}

async function confirm(o: RestoreOptions): Promise<void> {
  if (o.yes || o.dryRun) return;
  const hosts = o.loaded.config.hosts.map((h) => h.name).join(', ');
  if (!process.stdin.isTTY) throw usageError('restore.confirm', `restore replaces the cluster datastore on ${hosts} and no terminal is there to confirm`, 'pass --yes to go ahead, or --dry-run to see the plan');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const a = await rl.question(`Replace the cluster datastore on ${hosts} with the backup's (objects made since it was taken are lost)? [y/N] `);
  rl.close();
  if (!/^y(es)?$/i.test(a.trim())) throw new PalisadeError('restore.cancelled', 'cancelled: nothing was changed');
}

export async function runRestore(o: RestoreOptions): Promise<RunResult> {
  const { config, baseDir, path } = o.loaded;
  const dir = stateDir(baseDir, config.cluster.name);
  const files = stateFiles(dir);
  selectPhases(RESTORE_PHASES, { from: o.from, only: o.only });
  const bundle = o.bundle ?? (await bundleFromReport(dir));
  if (!bundle) throw usageError('restore.bundle', 'no bundle: the install report that names it is not here', 'give the bundle the appliance was installed from with --bundle (it has the k3s binary and the images)');
  const trustedKey = await resolveTrustedKey({ ...(o.trustedKey ? { trustedKey: o.trustedKey } : {}), config: path, configExplicit: true });
  await confirm(o);
  const runId = randomUUID();
  let lock: LocalLock | undefined;
  let journal: Journal | undefined;
  if (!o.dryRun) {
    lock = await acquireLocalLock(files.lock, { command: `restore ${o.file}`, runId });
    if (lock.tookOver) log.warn(`took over a stale lock of pid ${lock.tookOver.pid} (that run is gone)`);
    journal = await Journal.open(files.journal, config.cluster.name);
    await journal.startRun(runId, 'restore');
  } else {
    journal = (await Journal.read(files.journal)) ? await Journal.open(files.journal, config.cluster.name) : undefined;
  }
  const ac = new AbortController();
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
  const ctx: RestoreContext = {
    config, topology: topology(config), configPath: path, baseDir, stateDir: dir, bundlePath: bundle, trustedKey, runId, journal,
    driver: o.driver ?? k3sDriver, signal: ac.signal,
    connect: o.connect ?? ((c, b) => connectHosts(c, b)),
    keys: new KeyAccess({ session: new KeystoreSession({ path: ksPath, cluster: config.cluster.name, ...(o.passphraseFile ? { passphraseFile: o.passphraseFile } : {}) }), input: keySetInput(config) }),
    keystorePath: ksPath,
    clusterTimeoutMs: Number(process.env.PALISADE_CLUSTER_TIMEOUT_MS ?? 300_000),
    backupPath: o.file, openKey: o.openKey, yes: !!o.yes,
  };
  let result: RunResult | undefined;
  try {
    result = await runPhases({
      phases: RESTORE_PHASES, ctx, ...(journal ? { journal } : {}), ...(o.from ? { from: o.from } : {}), ...(o.only ? { only: o.only } : {}),
      dryRun: !!o.dryRun, concurrency: config.ssh.concurrency,
      observers: [...(journal && !o.dryRun ? [journalRecorder(journal)] : []), ...renderersFor(o.output ?? 'text'), ...(o.observers ?? [])],
      signal: ac.signal,
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (journal && !o.dryRun) await journal.endRun(runId, !result ? 'failed' : result.interrupted ? 'interrupted' : result.ok ? 'done' : 'failed').catch(() => undefined);
    lock?.release();
  }
  return result;
}
