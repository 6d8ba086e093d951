/**
 * The per-host preflight checks, one module per kind under checks/, and the
 * order the report lists them in.
 */
import { diskLatency, diskNoFilesystem, diskPresent, diskSize, diskUnmounted } from './checks/disk.ts';
import { cpuAes, deviceMapper, tpmPresent } from './checks/encryption.ts';
import type { HostCheck } from './checks/finding.ts';
import { inotifyInstances, inotifyWatches, kernelBrNetfilter, kernelOverlay, sysctlBridgeNf, sysctlIpForward, sysctlRpFilter } from './checks/kernel.ts';
import { archX86, cpuCount, memoryTotal, osSupported, swapOff } from './checks/machine.ts';
import { airGap, cidrOverlap, fqdnResolves, nameserver, portsFree } from './checks/network.ts';
import { clockSkewCheck, timeSync } from './checks/time.ts';

export * from './checks/disk.ts';
export * from './checks/encryption.ts';
export type { HostCheck, HostCheckContext } from './checks/finding.ts';
export * from './checks/kernel.ts';
export * from './checks/machine.ts';
export * from './checks/network.ts';
export * from './checks/time.ts';

/** Every per-host check, in report order. */
export const HOST_CHECKS: HostCheck[] = [
  archX86,
  osSupported,
  cpuCount,
  memoryTotal,
  swapOff,
  diskPresent,
  diskUnmounted,
  diskNoFilesystem,
  diskSize,
  diskLatency,
  clockSkewCheck,
  timeSync,
  portsFree,
  kernelOverlay,
  kernelBrNetfilter,
  sysctlIpForward,
  sysctlBridgeNf,
  sysctlRpFilter,
  inotifyInstances,
  inotifyWatches,
  cidrOverlap,
  nameserver,
  fqdnResolves,
  airGap,
  tpmPresent,
  deviceMapper,
  cpuAes,
];
