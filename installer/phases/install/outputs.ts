import type { Bundle } from '../../bundle/open.ts';
import type { HostFacts } from '../../facts/types.ts';
import type { RemoteHost } from '../../hosts/types.ts';
import type { HostLocks } from '../../state/host-lock.ts';
import { hostOutput, output } from '../types.ts';

/** What the install phases hand to later phases (types.ts: the phase contract). */

/** the verified bundle, open (bundle) */
export const BUNDLE = output<Bundle>('bundle');
/** one SSH connection per host (connect) */
export const HOSTS = output<ReadonlyMap<string, RemoteHost>>('hosts');
/** the install locks held on the hosts (connect; released when the run ends) */
export const HOST_LOCKS = output<HostLocks>('host-locks');
/** /etc/machine-id of each connected host (connect) */
export const MACHINE_IDS = output<ReadonlyMap<string, string>>('machine-ids');
/** the hosts preflight must check in this run: all until it has passed once, then the new or replaced ones (connect) */
export const PREFLIGHT_TARGETS = output<readonly string[]>('preflight-targets');
/** each host's facts (facts) */
export const FACTS = hostOutput<HostFacts>('facts');
/** every data disk is encrypted and bound as configured, checked or made so in this run (encrypt) */
export const DISKS_IN_PLACE = output<boolean>('disks-in-place');
/** the verification checks (verify) */
export const VERIFY_RESULT = output<VerifyResult>('verify-result');

export interface VerifyResult {
  ok: boolean;
  checks: Array<{ name: string; ok: boolean; detail: string }>;
}
