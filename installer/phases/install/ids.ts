/**
 * The install phase ids in order, without loading the phases (the CLI's help
 * lists them; a unit test keeps this equal to INSTALL_PHASES).
 */
export const INSTALL_PHASE_IDS = [
  'bundle',
  'connect',
  'facts',
  'preflight',
  'prepare',
  'harden',
  'encrypt',
  'keys',
  'registry',
  'seed',
  'cluster',
  'secrets',
  'access',
  'verify',
  'report',
] as const;
