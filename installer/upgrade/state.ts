import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic.ts';
import { PalisadeError } from '../core/errors.ts';
import type { HostDuration } from './estimate.ts';

/**
 * .palisade/<cluster>/upgrade.json: the upgrade in progress (or the last one),
 * host by host, so a stopped, failed or killed run continues where it stopped
 * and a rollback knows what to put back; and every finished host step's
 * duration, which the next plan's estimates come from. Written atomically
 * after every change.
 */
export type HostStepStatus = 'pending' | 'running' | 'done' | 'failed' | 'rolled-back';

export interface HostUpgradeRecord {
  role: 'controller' | 'worker';
  from: string | undefined;
  to: string;
  status: HostStepStatus;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  error?: string;
}

export interface UpgradeRun {
  id: string;
  /** target cluster version */
  target: string;
  bundle: { name: string; version: string; path: string };
  startedAt: string;
  finishedAt?: string;
  status: 'running' | 'stopped' | 'failed' | 'done' | 'rolled-back';
  backup?: string;
  seeded?: boolean;
  registryDone?: boolean;
  hosts: Record<string, HostUpgradeRecord>;
  /** windows waited for (--wait-for-window) */
  waited: Array<{ at: string; until: string }>;
  /** --ignore-window --yes was used (in any run of this upgrade) */
  ignoredWindow: boolean;
  stops: Array<{ at: string; reason: string; nextWindow?: string }>;
}

export interface UpgradeState {
  version: 1;
  current?: UpgradeRun;
  history: HostDuration[];
}

const MAX_HISTORY = 200;

export const upgradeStatePath = (stateDir: string): string => join(stateDir, 'upgrade.json');
export const upgradeReportPath = (stateDir: string): string => join(stateDir, 'upgrade-report.json');

export async function readUpgradeState(stateDir: string): Promise<UpgradeState> {
  const path = upgradeStatePath(stateDir);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, history: [] };
    throw e;
  }
  try {
    const s = JSON.parse(text) as UpgradeState;
    if (s.version !== 1 || !Array.isArray(s.history)) throw new Error('shape');
    return s;
  } catch {
    throw new PalisadeError('upgrade.state', `${path} is not a palisade upgrade record`, {
      hint: 'move it aside; the next plan reads the versions from the hosts again',
    });
  }
}

export async function writeUpgradeState(stateDir: string, s: UpgradeState): Promise<void> {
  if (s.history.length > MAX_HISTORY) s.history.splice(0, s.history.length - MAX_HISTORY);
  await writeFileAtomic(upgradeStatePath(stateDir), JSON.stringify(s, null, 2) + '\n', { mode: 0o600, mkdirp: true });
}
