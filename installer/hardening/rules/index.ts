import { accountRules } from './accounts.ts';
import { fileRules } from './files.ts';
import { kernelRules, mountRules } from './kernel.ts';
import { bannerRules, softwareRules } from './software.ts';
import { sshRules } from './ssh.ts';
import { sysctlRules } from './sysctl.ts';
import type { Rule } from '../types.ts';

/** The baseline profile's rules, in report order. Bump RULES_VERSION when a rule's meaning changes: scans record it. */
export const RULES_VERSION = '2026.12.3';
export const BASELINE_RULES: readonly Rule[] = [
  ...sshRules,
  ...sysctlRules,
  ...kernelRules,
  ...fileRules,
  ...mountRules,
  ...accountRules,
  ...softwareRules,
  ...bannerRules,
];

export function ruleById(id: string): Rule | undefined {
  return BASELINE_RULES.find((r) => r.id === id);
}
