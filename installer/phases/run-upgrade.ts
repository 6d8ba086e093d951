import { readFile } from 'node:fs/promises';
import { resolveTrustedKey } from '../bundle/trust.ts';
import type { ClusterDriver } from '../cluster/types.ts';
import type { LoadedConfig } from '../config/load.ts';
import { usageError } from '../core/errors.ts';
import { upgradeReportPath } from '../upgrade/state.ts';
import type { InstallContext } from './install/context.ts';
import type { OutputMode } from './render/index.ts';
import { withRunSession } from './run-session.ts';
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
  if (o.ignoreWindow && !o.yes)
    throw usageError(
      'upgrade.ignore-window',
      '--ignore-window is the emergency override and needs --yes with it',
      'add --yes (the report records that the windows were ignored), or leave it out to upgrade inside a window',
    );
  if (o.ignoreWindow && o.waitForWindow) throw usageError('upgrade.flags', 'give --wait-for-window or --ignore-window, not both');
  const trustedKey = await resolveTrustedKey({ ...(o.trustedKey ? { trustedKey: o.trustedKey } : {}), config: o.loaded.path, configExplicit: true });
  const session = {
    loaded: o.loaded,
    command: 'upgrade',
    lockedBy: `upgrade --bundle ${o.bundle}`,
    dryRun: !!o.dryRun,
    passphraseFile: o.passphraseFile,
    signal: o.signal,
  } as const;
  const { result, stateDir } = await withRunSession(session, (s) => {
    const ctx: UpgradeContext = {
      ...s.context({ bundlePath: o.bundle, trustedKey, driver: o.driver, connect: o.connect }),
      loaded: o.loaded,
      waitForWindow: !!o.waitForWindow,
      ignoreWindow: !!o.ignoreWindow,
      forceDrain: !!o.forceDrain,
      now: o.now ?? Date.now,
      passphrase: () => s.keystore.passphrase(),
    };
    return s.run({ phases: UPGRADE_PHASES, ctx, output: o.output, observers: o.observers });
  });
  let report: UpgradeReport | undefined;
  if (result.ok && !o.dryRun && !result.upToDate)
    report = (JSON.parse(await readFile(upgradeReportPath(stateDir), 'utf8').catch(() => 'null')) as UpgradeReport | undefined) ?? undefined;
  return { result, stateDir, ...(report ? { report } : {}) };
}
