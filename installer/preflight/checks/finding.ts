import type { HostConfig, PalisadeConfig } from '../../config/schema.ts';
import type { HostFacts } from '../../facts/types.ts';
import type { ApplianceOwned } from '../appliance.ts';
import type { RoleSizing } from '../profiles.ts';
import type { CheckStatus, Finding } from '../types.ts';

/**
 * Per-host checks: pure functions of (config, host, facts). Each returns a
 * Finding with the measured value, the requirement and a one-line fix, or
 * nothing when the check does not apply (e.g. TPM with encryption off).
 */
export interface HostCheckContext {
  config: PalisadeConfig;
  host: Pick<HostConfig, 'name' | 'role' | 'address'> & Partial<Pick<HostConfig, 'dataDisk' | 'encryption'>>;
  facts: HostFacts;
  sizing: RoleSizing;
  /** the admin machine's facts: the clock reference */
  admin?: HostFacts;
  /** ports this host must have free */
  ports: number[];
  /** addresses the FQDN may resolve to (VIP, controller addresses) */
  fqdnTargets: string[];
  /** what the installed appliance owns on this host (its ports, its encrypted disk) */
  owned?: ApplianceOwned;
}

export type HostCheck = (c: HostCheckContext) => Finding | undefined;

export const GiB = 1024 ** 3;

/** A finding of this host; the fix is kept only when the check did not pass. */
export const finding = (c: HostCheckContext, id: string, title: string, status: CheckStatus, measured: string, required: string, fix?: string): Finding => ({
  id,
  host: c.host.name,
  title,
  status,
  measured,
  required,
  ...(status !== 'pass' && fix ? { fix } : {}),
});
export const gb = (n: number) => `${(n / 1e9).toFixed(n < 1e10 ? 2 : 1)} GB`;
export const gib = (n: number) => `${(n / GiB).toFixed(1)} GiB`;
export const ms = (n: number) => `${n < 10 ? n.toFixed(2) : n.toFixed(0)} ms`;
