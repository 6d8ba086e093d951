/** What applying disk encryption takes, reports as it goes, and returns. */
import type { PalisadeConfig } from '../config/schema.ts';
import type { PalisadeError } from '../core/errors.ts';
import type { RemoteHost } from '../hosts/types.ts';
import type { DiskPlan, EncryptionPlan, EscrowStore } from './types.ts';
import type { DiskVerification } from './verify.ts';

export type ApplyStep = 'facts' | 'checked' | 'escrowed' | 'wiped' | 'formatted' | 'bound' | 'unbound' | 'crypttab' | 'opened' | 'mounted' | 'verified';

export interface ApplyEvent {
  host: string;
  device?: string;
  step: ApplyStep;
  detail?: string;
}

export interface ApplyOptions {
  config: PalisadeConfig;
  /** connected hosts; hosts of the config not in this list are left alone */
  hosts: readonly RemoteHost[];
  /** the opened keystore: recovery keys are saved in it before any disk is formatted */
  keystore: EscrowStore;
  /** --allow-unopened */
  allowUnopened?: boolean;
  /** hosts worked on at once (default: config ssh.concurrency) */
  concurrency?: number;
  /** progress, awaited: a listr2 task tree (or a test) follows the run step by step */
  onProgress?: (e: ApplyEvent) => void | Promise<void>;
  /**
   * Called with the checked plan (no refusals, no blockers) before anything is
   * changed on any host; throw to stop (e.g. the operator did not confirm a format).
   */
  approve?: (plan: EncryptionPlan) => void | Promise<void>;
}

export type DiskOutcome = 'formatted' | 'rebound' | 'configured' | 'unchanged';

export interface DiskApplyResult {
  device: string;
  action: DiskPlan['action'];
  outcome: DiskOutcome;
  /** "bound, not opened" without device-mapper; "open", "mounted at /x" with it */
  state: string;
  verification: DiskVerification;
}

export interface HostApplyResult {
  host: string;
  ok: boolean;
  error?: PalisadeError;
  disks: DiskApplyResult[];
  durationMs: number;
}

export interface ApplyReport {
  plan: EncryptionPlan;
  hosts: HostApplyResult[];
  ok: boolean;
}
