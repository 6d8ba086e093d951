import { bundlePhase } from '../install/bundle.ts';
import type { InstallContext } from '../install/context.ts';
import { encryptPhase } from '../install/encrypt.ts';
import { keysPhase } from '../install/keys.ts';
import { preparePhase } from '../install/prepare.ts';
import { registryPhase } from '../install/registry.ts';
import { secretsPhase } from '../install/secrets.ts';
import { seedPhase } from '../install/seed.ts';
import { verifyPhase } from '../install/verify.ts';
import type { Phase } from '../types.ts';
import { restoreConnectPhase } from './connect.ts';
import type { RestoreContext } from './context.ts';
import { finishPhase } from './finish.ts';
import { keystorePhase } from './keystore.ts';
import { rejoinPhase } from './rejoin.ts';
import { restoreSnapshotPhase } from './snapshot.ts';
import { stopPhase } from './stop.ts';
import { verifyBackupPhase } from './verify-backup.ts';
import { workersPhase } from './workers.ts';

/** an install phase in the restore: a restore context is an install context */
const install = (p: Phase<InstallContext>): Phase<RestoreContext> => p as Phase<RestoreContext>;

/**
 * `palisade restore`, in order. The backup is verified before any connection;
 * the install phases that check and put hosts in place (prepare, disks, keys,
 * registry, seed) run as they are, so on hosts that are fine they do nothing
 * and on replacement machines they set them up; then the datastore is
 * restored as k3s documents it and the install's verify runs.
 */
export const RESTORE_PHASES: ReadonlyArray<Phase<RestoreContext>> = [
  install(bundlePhase),
  verifyBackupPhase,
  keystorePhase,
  restoreConnectPhase,
  install(preparePhase),
  install(encryptPhase),
  install(keysPhase),
  install(registryPhase),
  install(seedPhase),
  stopPhase,
  restoreSnapshotPhase,
  rejoinPhase,
  workersPhase,
  install(secretsPhase),
  install(verifyPhase),
  finishPhase,
];
