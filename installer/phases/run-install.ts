import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline/promises';
import { resolveTrustedKey } from '../bundle/trust.ts';
import { k3sDriver } from '../cluster/k3s.ts';
import type { ClusterDriver } from '../cluster/types.ts';
import type { LoadedConfig } from '../config/load.ts';
import { EXIT, PalisadeError, usageError } from '../core/errors.ts';
import { log } from '../core/log.ts';
import { closeAll, connectHosts } from '../hosts/index.ts';
import { keystorePath } from '../keystore/index.ts';
import { resolvePassphrase } from '../keystore/passphrase.ts';
import { Journal } from '../state/journal.ts';
import { acquireLocalLock, type LocalLock } from '../state/lock.ts';
import { stateDir, stateFiles } from '../state/paths.ts';
import { INSTALL_PHASES, renderSummary, type InstallReport } from './install.ts';
import type { InstallContext } from './install-context.ts';
import { runPhases } from './orchestrator.ts';
import type { PhaseEvent, RunResult } from './types.ts';

export interface InstallOptions {
  loaded: LoadedConfig;
  bundle: string;
  trustedKey?: string;
  dryRun?: boolean;
  from?: string;
  only?: string;
  yes?: boolean;
  output?: 'text' | 'json' | 'silent';
  passphraseFile?: string;
  /** for tests */
  connect?: InstallContext['connect'];
  driver?: ClusterDriver;
  onEvent?: (e: PhaseEvent) => void;
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

/** `palisade install`: lock, journal, run the phases, release everything however the run ends. */
export async function runInstall(o: InstallOptions): Promise<InstallOutcome> {
  const { config, baseDir, path } = o.loaded;
  const dir = stateDir(baseDir, config.cluster.name);
  const files = stateFiles(dir);
  const trustedKey = await resolveTrustedKey({ ...(o.trustedKey ? { trustedKey: o.trustedKey } : {}), config: path, configExplicit: true });
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

  const ctx: InstallContext = {
    config, configPath: path, baseDir, stateDir: dir, bundlePath: o.bundle, trustedKey, dryRun: !!o.dryRun, yes: !!o.yes, runId,
    // under --dry-run the journal is read (what finished before), never written
    journal,
    driver: o.driver ?? k3sDriver,
    signal: ac.signal,
    connect: o.connect ?? ((c, b) => connectHosts(c, b)),
    passphrase: (create) => resolvePassphrase({ ...(o.passphraseFile ? { file: o.passphraseFile } : {}), create }),
    keystorePath: keystorePath(baseDir, config.cluster.name),
    hosts: new Map(),
    facts: new Map(),
    report: { startedAt: new Date().toISOString(), phases: {}, notes: [] },
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
      output: o.output ?? 'text',
      ...(o.onEvent ? { onEvent: o.onEvent } : {}),
      signal: ac.signal,
    });
    ctx.report.notes.push(...result.notes);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await ctx.hostLocks?.release().catch(() => undefined);
    await closeAll(ctx.hosts);
    await ctx.bundle?.close().catch(() => undefined);
    if (journal && !o.dryRun) await journal.endRun(runId, !result ? 'failed' : result.interrupted ? 'interrupted' : result.ok ? 'done' : 'failed').catch(() => undefined);
    lock?.release();
  }
  let summary: string | undefined;
  if (result.ok && !o.dryRun) {
    try {
      const { readFile } = await import('node:fs/promises');
      summary = renderSummary(JSON.parse(await readFile(files.report, 'utf8')) as InstallReport);
    } catch {
      summary = undefined;
    }
  }
  return { result, stateDir: dir, ...(summary ? { summary } : {}) };
}
