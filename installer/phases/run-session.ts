/**
 * What every run that changes the appliance (install, upgrade, restore) holds
 * while its phases run, set up and released in one place: the install lock
 * (one run at a time per cluster), the journal's record of the run, Ctrl-C and
 * SIGTERM as "stop between steps" (a second one leaves at once), and the
 * keystore session its phases open the keys through. A dry run takes no lock
 * and writes no journal; it reads what earlier runs recorded.
 * The runners keep only what is theirs: flags, confirmation, their context.
 */
import { randomUUID, type KeyObject } from 'node:crypto';
import { k3sDriver } from '../cluster/k3s.ts';
import type { ClusterDriver } from '../cluster/types.ts';
import type { LoadedConfig } from '../config/load.ts';
import { topology } from '../config/topology.ts';
import { EXIT } from '../core/errors.ts';
import { log } from '../core/log.ts';
import { connectHosts } from '../hosts/index.ts';
import { keystorePath } from '../keystore/index.ts';
import { KeystoreSession } from '../keystore/session.ts';
import { keySetInput } from '../pki/keyset-input.ts';
import { Journal } from '../state/journal.ts';
import { acquireLocalLock, type LocalLock } from '../state/lock.ts';
import { stateDir, stateFiles } from '../state/paths.ts';
import type { InstallContext } from './install/context.ts';
import { KeyAccess } from './install/shared/keys.ts';
import { journalRecorder } from './journal-recorder.ts';
import { renderersFor, type OutputMode } from './render/index.ts';
import { runPhases } from './runner.ts';
import type { Phase, RunObserver, RunResult } from './types.ts';

export interface RunSessionOptions {
  loaded: LoadedConfig;
  /** the journal's name for the run */
  command: 'install' | 'upgrade' | 'restore';
  /** what the lock file says holds it, e.g. `install --bundle FILE` */
  lockedBy: string;
  dryRun: boolean;
  passphraseFile?: string | undefined;
  /** the caller's own stop (tests); Ctrl-C and SIGTERM stop the run too */
  signal?: AbortSignal | undefined;
}

export interface RunSession {
  readonly runId: string;
  /** .palisade/<cluster> */
  readonly stateDir: string;
  readonly files: ReturnType<typeof stateFiles>;
  /** the journal; undefined in a dry run when no run was ever recorded */
  readonly journal: Journal | undefined;
  /** aborted by Ctrl-C, SIGTERM or the caller's signal */
  readonly signal: AbortSignal;
  readonly keystore: KeystoreSession;
  /** the context fields every run's phases start from */
  context(o: {
    bundlePath: string;
    trustedKey: KeyObject;
    driver?: ClusterDriver | undefined;
    connect?: InstallContext['connect'] | undefined;
  }): InstallContext;
  /** the phases, with the journal recorder (not in a dry run), the renderers for the output mode, and the session's signal */
  run<C>(o: {
    phases: ReadonlyArray<Phase<C>>;
    ctx: C;
    from?: string | undefined;
    only?: string | undefined;
    output?: OutputMode | undefined;
    observers?: readonly RunObserver[] | undefined;
  }): Promise<RunResult>;
}

/** How a session's run ended, and where its state is (the runners read their reports from there). */
export interface RunSessionEnd {
  result: RunResult;
  stateDir: string;
  files: ReturnType<typeof stateFiles>;
}

/** Runs `body` inside a run session and releases the session however `body` ends; the journal records how the run ended. */
export async function withRunSession(o: RunSessionOptions, body: (s: RunSession) => Promise<RunResult>): Promise<RunSessionEnd> {
  const { config, baseDir, path } = o.loaded;
  const dir = stateDir(baseDir, config.cluster.name);
  const files = stateFiles(dir);
  const runId = randomUUID();
  let lock: LocalLock | undefined;
  let journal: Journal | undefined;
  let started = false;
  if (!o.dryRun) {
    lock = await acquireLocalLock(files.lock, { command: o.lockedBy, runId });
    if (lock.tookOver) log.warn(`took over a stale lock of pid ${lock.tookOver.pid} (that run is gone)`);
  }
  const ac = new AbortController();
  const onCallerAbort = () => ac.abort();
  o.signal?.addEventListener('abort', onCallerAbort, { once: true });
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (++signals > 1) {
      lock?.release();
      process.exit(EXIT.interrupted);
    }
    log.warn(`${sig}: stopping after the current step (press Ctrl-C again to leave at once)`);
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let result: RunResult | undefined;
  try {
    if (!o.dryRun) {
      journal = await Journal.open(files.journal, config.cluster.name);
      await journal.startRun(runId, o.command);
      started = true;
    } else {
      // a dry run reads the journal (what finished before), never writes it
      journal = (await Journal.read(files.journal)) ? await Journal.open(files.journal, config.cluster.name) : undefined;
    }
    const ksPath = keystorePath(baseDir, config.cluster.name);
    const keystore = new KeystoreSession({ path: ksPath, cluster: config.cluster.name, ...(o.passphraseFile ? { passphraseFile: o.passphraseFile } : {}) });
    const session: RunSession = {
      runId,
      stateDir: dir,
      files,
      journal,
      signal: ac.signal,
      keystore,
      context: (c) => ({
        config,
        topology: topology(config),
        configPath: path,
        baseDir,
        stateDir: dir,
        bundlePath: c.bundlePath,
        trustedKey: c.trustedKey,
        runId,
        journal,
        driver: c.driver ?? k3sDriver,
        signal: ac.signal,
        connect: c.connect ?? ((cfg, base) => connectHosts(cfg, base)),
        keys: new KeyAccess({ session: keystore, input: keySetInput(config) }),
        keystorePath: ksPath,
        clusterTimeoutMs: Number(process.env.PALISADE_CLUSTER_TIMEOUT_MS ?? 300_000),
      }),
      run: (r) =>
        runPhases({
          phases: r.phases,
          ctx: r.ctx,
          ...(journal ? { journal } : {}),
          ...(r.from ? { from: r.from } : {}),
          ...(r.only ? { only: r.only } : {}),
          dryRun: o.dryRun,
          concurrency: config.ssh.concurrency,
          observers: [...(journal && !o.dryRun ? [journalRecorder(journal)] : []), ...renderersFor(r.output ?? 'text'), ...(r.observers ?? [])],
          signal: ac.signal,
        }),
    };
    result = await body(session);
    return { result, stateDir: dir, files };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    o.signal?.removeEventListener('abort', onCallerAbort);
    if (journal && started)
      await journal.endRun(runId, !result ? 'failed' : result.interrupted ? 'interrupted' : result.ok ? 'done' : 'failed').catch(() => undefined);
    lock?.release();
  }
}
