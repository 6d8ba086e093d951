import type { LoadedConfig } from '../../config/load.ts';
import type { InstallContext } from '../install/context.ts';

/**
 * What an upgrade run starts from: everything an install run has (the
 * upgrade reuses its bundle, connect, seed and registry phases) plus the
 * upgrade's flags and the clock the window rules read.
 */
export interface UpgradeContext extends InstallContext {
  loaded: LoadedConfig;
  waitForWindow: boolean;
  /** --ignore-window --yes: the emergency override, recorded in the report */
  ignoreWindow: boolean;
  forceDrain: boolean;
  /** the wall clock (Date.now; faketime moves it in the lab tests) */
  now: () => number;
  passphrase: () => Promise<string>;
}
