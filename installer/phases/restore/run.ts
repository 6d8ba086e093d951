import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline/promises';
import type { OpenKey } from '../../backup/age.ts';
import { resolveTrustedKey } from '../../bundle/trust.ts';
import type { ClusterDriver } from '../../cluster/types.ts';
import type { LoadedConfig } from '../../config/load.ts';
import { PalisadeError, usageError } from '../../core/errors.ts';
import { stateDir, stateFiles } from '../../state/paths.ts';
import type { OutputMode } from '../render/index.ts';
import { withRunSession } from '../run-session.ts';
import { selectPhases } from '../runner.ts';
import type { RunObserver, RunResult } from '../types.ts';
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
  if (!process.stdin.isTTY)
    throw usageError(
      'restore.confirm',
      `restore replaces the cluster datastore on ${hosts} and no terminal is there to confirm`,
      'pass --yes to go ahead, or --dry-run to see the plan',
    );
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const a = await rl.question(`Replace the cluster datastore on ${hosts} with the backup's (objects made since it was taken are lost)? [y/N] `);
  rl.close();
  if (!/^y(es)?$/i.test(a.trim())) throw new PalisadeError('restore.cancelled', 'cancelled: nothing was changed');
}

export async function runRestore(o: RestoreOptions): Promise<RunResult> {
  const { config, baseDir, path } = o.loaded;
  const dir = stateDir(baseDir, config.cluster.name);
  selectPhases(RESTORE_PHASES, { from: o.from, only: o.only });
  const bundle = o.bundle ?? (await bundleFromReport(dir));
  if (!bundle)
    throw usageError(
      'restore.bundle',
      'no bundle: the install report that names it is not here',
      'give the bundle the appliance was installed from with --bundle (it has the k3s binary and the images)',
    );
  const trustedKey = await resolveTrustedKey({ ...(o.trustedKey ? { trustedKey: o.trustedKey } : {}), config: path, configExplicit: true });
  await confirm(o);
  const session = { loaded: o.loaded, command: 'restore', lockedBy: `restore ${o.file}`, dryRun: !!o.dryRun, passphraseFile: o.passphraseFile } as const;
  const { result } = await withRunSession(session, (s) => {
    const ctx: RestoreContext = {
      ...s.context({ bundlePath: bundle, trustedKey, driver: o.driver, connect: o.connect }),
      backupPath: o.file,
      openKey: o.openKey,
      yes: !!o.yes,
    };
    return s.run({ phases: RESTORE_PHASES, ctx, from: o.from, only: o.only, output: o.output, observers: o.observers });
  });
  return result;
}
