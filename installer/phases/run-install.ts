import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline/promises';
import { resolveTrustedKey } from '../bundle/trust.ts';
import type { ClusterDriver } from '../cluster/types.ts';
import type { LoadedConfig } from '../config/load.ts';
import { EXIT, PalisadeError, usageError } from '../core/errors.ts';
import { log } from '../core/log.ts';
import { Journal } from '../state/journal.ts';
import { stateDir as stateDirOf, stateFiles } from '../state/paths.ts';
import type { InstallContext } from './install/context.ts';
import { INSTALL_PHASES } from './install/index.ts';
import { BUNDLE } from './install/outputs.ts';
import { recordedBundle, recordInstalledBundle } from './install/recorded-bundle.ts';
import { renderSummary, type InstallReport } from './install/shared/report.ts';
import type { OutputMode } from './render/index.ts';
import { selectPhases } from './runner.ts';
import { withRunSession } from './run-session.ts';
import type { RunObserver, RunResult } from './types.ts';

/** `palisade install`: check the flags, confirm, lock, journal, run the phases, release everything however the run ends. */
export interface InstallOptions {
  loaded: LoadedConfig;
  /** absent: a dry run takes the bundle the journal records (install/recorded-bundle.ts) */
  bundle?: string;
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
  if (!process.stdin.isTTY)
    throw usageError(
      'install.confirm',
      `install changes ${o.loaded.config.hosts.length} host(s) (${hosts}) and no terminal is there to confirm`,
      'pass --yes to go ahead, or --dry-run to see the plan',
    );
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const a = await rl.question(`Install the appliance onto ${hosts} (disks named in palisade.yaml may be formatted)? [y/N] `);
  rl.close();
  if (!/^y(es)?$/i.test(a.trim())) throw new PalisadeError('install.cancelled', 'cancelled: nothing was changed', { exitCode: EXIT.failure });
}

export async function runInstall(o: InstallOptions): Promise<InstallOutcome> {
  // flags first: a wrong --from/--only is said before anything is asked
  selectPhases(INSTALL_PHASES, { from: o.from, only: o.only });
  if (!o.bundle && !o.dryRun)
    throw usageError(
      'install.no-bundle',
      'install needs --bundle PATH (the bundle directory or .tar)',
      'only a dry run can take the bundle the journal records from the last install',
    );
  const journalPath = stateFiles(stateDirOf(o.loaded.baseDir, o.loaded.config.cluster.name)).journal;
  const recorded = o.bundle ? undefined : await recordedBundle(await Journal.read(journalPath), journalPath);
  const bundle = o.bundle ?? recorded!.path;
  // with nothing given and no bundle.trustedKey in palisade.yaml, a dry run of the recorded bundle checks it with the recorded key
  const trustedKey =
    recorded && !o.trustedKey && !o.loaded.config.bundle.trustedKey
      ? recorded.trustedKey
      : await resolveTrustedKey({ ...(o.trustedKey ? { trustedKey: o.trustedKey } : {}), loaded: o.loaded, config: o.loaded.path, configExplicit: true });
  if (recorded) log.info(`no --bundle: planning with the bundle the last install ran from, ${recorded.record.name} ${recorded.record.version} (${bundle})`);
  await confirm(o);
  const session = {
    loaded: o.loaded,
    command: 'install',
    lockedBy: `install --bundle ${bundle}`,
    dryRun: !!o.dryRun,
    passphraseFile: o.passphraseFile,
    signal: o.signal,
  } as const;
  const { result, stateDir, files } = await withRunSession(session, async (s) => {
    const ctx: InstallContext = s.context({ bundlePath: bundle, trustedKey, driver: o.driver, connect: o.connect });
    const r = await s.run({ phases: INSTALL_PHASES, ctx, from: o.from, only: o.only, output: o.output, observers: o.observers });
    // what a later dry run without --bundle plans with
    const installed = r.ok && !o.dryRun ? r.outputs.maybe(BUNDLE) : undefined;
    if (installed && s.journal) await recordInstalledBundle(s.journal, bundle, installed, trustedKey).catch(() => undefined);
    return r;
  });
  let summary: string | undefined;
  if (result.ok && !o.dryRun) {
    try {
      summary = renderSummary(JSON.parse(await readFile(files.report, 'utf8')) as InstallReport);
    } catch {
      summary = undefined;
    }
  }
  return { result, stateDir, ...(summary ? { summary } : {}) };
}
