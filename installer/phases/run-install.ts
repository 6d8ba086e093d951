import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline/promises';
import { resolveTrustedKey } from '../bundle/trust.ts';
import { k3sDriver } from '../cluster/k3s.ts';
import type { ClusterDriver } from '../cluster/types.ts';
import type { LoadedConfig } from '../config/load.ts';
import { topology } from '../config/topology.ts';
import { EXIT, PalisadeError, usageError } from '../core/errors.ts';
import { log } from '../core/log.ts';
import { connectHosts } from '../hosts/index.ts';
import { keystorePath } from '../keystore/index.ts';
import { keySetInput } from '../pki/keyset-input.ts';
import { KeystoreSession } from '../keystore/session.ts';
import { Journal } from '../state/journal.ts';
import { acquireLocalLock, type LocalLock } from '../state/lock.ts';
import { stateDir, stateFiles } from '../state/paths.ts';
import type { InstallContext } from './install/context.ts';
import { INSTALL_PHASES } from './install/index.ts';
import { KeyAccess } from './install/shared/keys.ts';
import { renderSummary, type InstallReport } from './install/shared/report.ts';
import { journalRecorder } from './journal-recorder.ts';
import { renderersFor, type OutputMode } from './render/index.ts';
import { runPhases, selectPhases } from './runner.ts';
import type { RunObserver, RunResult } from './types.ts';

/** `palisade install`: check the flags, confirm, lock, journal, run the phases, release everything however the run ends. */
export interface InstallOptions {
  loaded: LoadedConfig;
  bundle: string;
  trustedKey?: string;
  dryRun?: boolean;
  from?: string;
  only?: string;
  yes?: boolean;
  output?: OutputMode;
  passphraseFile?: string;
  /** another SSH transport (tests) */
  connect?: InstallContext['connect'];
  driver?: ClusterDriver;
  /** more observers of the run (tests) */
  observers?: RunObserver[];
  signal?: AbortSignal;
}

export interface InstallOutcome {
  result: RunResult;
  stateDir: string;
  summary?: string;
}

async function confirm(o: InstallOptions): Promise<void> {
  if (o.yes || o.dryRun) return;
  const hosts = o.loaded.config.hosts.map((h) => h.name).join(', ');
  if (!process.stdin.isTTY) throw usageError('install.confirm', `install changes ${o.loaded.config.hosts.length} host(s) (${hosts}) and no terminal is there to confirm`, 'pass --yes to go ahead, or --dry-run to see the plan');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const a = await rl.question(`Install the appliance onto ${hosts} (disks named in palisade.yaml may be formatted)? [y/N] `);
  rl.close();
  if (!/^y(es)?$/i.test(a.trim())) throw new PalisadeError('install.cancelled', 'cancelled: nothing was changed', { exitCode: EXIT.failure });
}

export async function runInstall(o: InstallOptions): Promise<InstallOutcome> {
  const { config, baseDir, path } = o.loaded;
  const dir = stateDir(baseDir, config.cluster.name);
  const files = stateFiles(dir);
  // flags first: a wrong --from/--only is said before anything is asked
  selectPhases(INSTALL_PHASES, { from: o.from, only: o.only });
  const trustedKey = await resolveTrustedKey({ ...(o.trustedKey ? { trustedKey: o.trustedKey } : {}), loaded: o.loaded, config: path, configExplicit: true });
  await confirm(o);
  const runId = randomUUID();
  let lock: LocalLock | undefined;
  let journal: Journal | undefined;
  if (!o.dryRun) {
    lock = await acquireLocalLock(files.lock, { command: `install --bundle ${o.bundle}`, runId });
    if (lock.tookOver) log.warn(`took over a stale lock of pid ${lock.tookOver.pid} (that run is gone)`);
    journal = await Journal.open(files.journal, config.cluster.name);
    await journal.startRun(runId, 'install');
  } else {
    // a dry run reads the journal (what finished before), never writes it
    journal = (await Journal.read(files.journal)) ? await Journal.open(files.journal, config.cluster.name) : undefined;
  }

  // Ctrl-C: stop between steps and release the locks; a second Ctrl-C leaves at once
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
  const ctx: InstallContext = {
    config, topology: topology(config), configPath: path, baseDir, stateDir: dir, bundlePath: o.bundle, trustedKey, runId, journal,
    driver: o.driver ?? k3sDriver,
    signal: ac.signal,
    connect: o.connect ?? ((c, b) => connectHosts(c, b)),
    keys: new KeyAccess({ session: new KeystoreSession({ path: ksPath, cluster: config.cluster.name, ...(o.passphraseFile ? { passphraseFile: o.passphraseFile } : {}) }), input: keySetInput(config) }),
    keystorePath: ksPath,
    clusterTimeoutMs: Number(process.env.PALISADE_CLUSTER_TIMEOUT_MS ?? 300_000),
  };
  let result: RunResult | undefined;
  try {
    result = await runPhases({
      phases: INSTALL_PHASES, ctx,
      ...(journal ? { journal } : {}),
      ...(o.from ? { from: o.from } : {}),
      ...(o.only ? { only: o.only } : {}),
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
  let summary: string | undefined;
  if (result.ok && !o.dryRun) {
    try {
      summary = renderSummary(JSON.parse(await readFile(files.report, 'utf8')) as InstallReport);
    } catch {
      summary = undefined;
    }
  }
  return { result, stateDir: dir, ...(summary ? { summary } : {}) };
}
