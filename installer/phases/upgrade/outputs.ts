import type { Gathered } from '../../upgrade/gather.ts';
import type { UpgradeRecord } from './record.ts';
import { output } from '../types.ts';

/** What the upgrade phases hand to later phases. */

/** the plan from the live state and the bundle (check) */
export const UPGRADE_PLAN = output<Gathered['plan']>('upgrade-plan');
/** the upgrade's record, .palisade/<cluster>/upgrade.json (check) */
export const UPGRADE_RECORD = output<UpgradeRecord>('upgrade-record');
