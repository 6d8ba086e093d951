import { bundlePhase, encryptPhase, keysPhase, preparePhase, registryPhase, secretsPhase, seedPhase, verifyPhase } from '../install.ts';
import type { Phase } from '../types.ts';
import { restoreConnectPhase } from './connect.ts';
import { verifyBackupPhase } from './verify-backup.ts';
import type { RestoreContext } from './context.ts';
import { finishPhase } from './finish.ts';
import { keystorePhase } from './keystore.ts';
import { rejoinPhase } from './rejoin.ts';
import { restoreSnapshotPhase } from './snapshot.ts';
import { stopPhase } from './stop.ts';
import { workersPhase } from './workers.ts';

/**
 * `palisade restore`, in order. The backup is verified before any connection;
 * the install phases that check and put hosts in place (prepare, disks, keys,
 * registry, seed) run as they are, so on hosts that are fine they do nothing
 * and on replacement machines they set them up; then the datastore is
 * restored as k3s documents it and the install's verify runs.
 */
export const RESTORE_PHASES: ReadonlyArray<Phase<RestoreContext>> = [
  bundlePhase as Phase<RestoreContext>,
  verifyBackupPhase,
  keystorePhase,
  restoreConnectPhase,
  preparePhase as Phase<RestoreContext>,
  encryptPhase as Phase<RestoreContext>,
  keysPhase as Phase<RestoreContext>,
  registryPhase as Phase<RestoreContext>,
  seedPhase as Phase<RestoreContext>,
  stopPhase,
  restoreSnapshotPhase,
  rejoinPhase,
  workersPhase,
  secretsPhase as Phase<RestoreContext>,
  verifyPhase as Phase<RestoreContext>,
  finishPhase,
];
