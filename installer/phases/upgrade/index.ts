import { bundlePhase } from '../install/bundle.ts';
import { connectPhase } from '../install/connect.ts';
import { hardenPhase } from '../install/harden.ts';
import { seedPhase } from '../install/seed.ts';
import type { Phase } from '../types.ts';
import { backupPhase } from './backup.ts';
import { checkPhase } from './check.ts';
import type { UpgradeContext } from './context.ts';
import { hostsPhase } from './hosts.ts';
import { registryPhase } from './registry.ts';
import { reportPhase } from './report.ts';

/**
 * The upgrade phases, in order: verify the bundle, connect and lock, check the
 * rules and the window, back up, seed the new images and packs (additive: the
 * old ones stay), the hosts one by one, the registry server, verify and report.
 */
export const UPGRADE_PHASES: ReadonlyArray<Phase<UpgradeContext>> = [
  bundlePhase,
  connectPhase,
  checkPhase,
  backupPhase,
  seedPhase,
  hostsPhase,
  registryPhase,
  hardenPhase,
  reportPhase,
];
