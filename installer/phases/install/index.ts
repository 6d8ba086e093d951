import type { Phase } from '../types.ts';
import { accessPhase } from './access.ts';
import { bundlePhase } from './bundle.ts';
import { clusterPhase } from './cluster.ts';
import { connectPhase } from './connect.ts';
import type { InstallContext } from './context.ts';
import { encryptPhase } from './encrypt.ts';
import { factsPhase } from './facts.ts';
import { hardenPhase } from './harden.ts';
import { keysPhase } from './keys.ts';
import { preflightPhase } from './preflight.ts';
import { preparePhase } from './prepare.ts';
import { registryPhase } from './registry.ts';
import { reportPhase } from './report.ts';
import { secretsPhase } from './secrets.ts';
import { seedPhase } from './seed.ts';
import { verifyPhase } from './verify.ts';

/** The install phases, in order. Each checks the real state before acting, acts, and leaves verification to verify. */
export const INSTALL_PHASES: ReadonlyArray<Phase<InstallContext>> = [
  bundlePhase,
  connectPhase,
  factsPhase,
  preflightPhase,
  preparePhase,
  hardenPhase,
  encryptPhase,
  keysPhase,
  registryPhase,
  seedPhase,
  clusterPhase,
  secretsPhase,
  accessPhase,
  verifyPhase,
  reportPhase,
];
