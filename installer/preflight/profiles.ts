import type { PalisadeConfig, Role } from '../config/schema.ts';

/** What one host of a role needs. Disk in GB (10^9 bytes, as disks are sold), memory in GiB. */
export interface RoleSizing {
  cpus: number;
  memoryGiB: number;
  diskGB: number;
}
export type SizingProfile = Record<Role, RoleSizing>;

/**
 * The published numbers of the appliance palisade stands beside (Palette
 * self-hosted: small 8 CPU / 16 GiB / 100 GB per controller, medium 16 / 32 / 100,
 * large 32 / 64 / 120). Workers need at least 4 CPU / 8 GiB; their data disk is
 * held to the controllers' size (images and volumes land there too).
 */
export const PROFILES: Record<'small' | 'medium' | 'large', SizingProfile> = {
  small: { controller: { cpus: 8, memoryGiB: 16, diskGB: 100 }, worker: { cpus: 4, memoryGiB: 8, diskGB: 100 } },
  medium: { controller: { cpus: 16, memoryGiB: 32, diskGB: 100 }, worker: { cpus: 4, memoryGiB: 8, diskGB: 100 } },
  large: { controller: { cpus: 32, memoryGiB: 64, diskGB: 120 }, worker: { cpus: 4, memoryGiB: 8, diskGB: 120 } },
};

/**
 * The kernel keeps part of installed RAM for itself, so MemTotal of a 16 GiB
 * machine reads ~15.6 GiB. Memory passes at 95 % of the profile's figure.
 */
export const MEMORY_TOLERANCE = 0.95;

export function sizingFor(config: Pick<PalisadeConfig, 'sizing'>): SizingProfile {
  const s = config.sizing;
  if (s.profile === 'custom') {
    // config validation requires sizing.custom for profile custom; fall back to small if it is absent
    return s.custom ?? PROFILES.small;
  }
  return PROFILES[s.profile];
}
