import type { HostConfig } from '../config/schema.ts';
import type { HostFacts } from '../facts/types.ts';

export type Severity = 'fail' | 'warn';
export type CheckStatus = 'pass' | 'warn' | 'fail';

/** One check's verdict on one host (or on the cluster as a whole). */
export interface Finding {
  /** stable id, e.g. `disk.size`; what `preflight.ignore` / `--ignore` name */
  id: string;
  /** host name from palisade.yaml, "(admin)" for this machine, "(cluster)" for checks across hosts */
  host: string;
  title: string;
  status: CheckStatus;
  measured: string;
  required: string;
  /** one line: what to do (set when status is not pass) */
  fix?: string;
}

/** A finding as reported: a waived one keeps the status it would have had. */
export interface ReportedFinding extends Omit<Finding, 'status'> {
  status: CheckStatus | 'waived';
  waivedStatus?: CheckStatus;
}

export interface HostInput {
  config: HostConfig;
  facts?: HostFacts;
  /** why facts could not be gathered (refused, timeout, auth, host key) */
  error?: { code: string; message: string; hint?: string };
}

export const CLUSTER = '(cluster)';
