import type { CommandModule } from './types.ts';
import { encryptionCommands } from './encryption.ts';
import { configCommands } from './config.ts';
import { bundleCommands } from './bundle.ts';
import { registryCommands } from './registry.ts';
import { packCommands } from './pack.ts';
import { keysCommands } from './keys.ts';
import { certsCommands } from './certs.ts';
import { hostsCommands } from './hosts.ts';
import { preflightCommands } from './preflight.ts';
import { installCommands } from './install.ts';
import { statusCommands } from './status.ts';
import { accessCommands } from './access.ts';
import { upgradeCommands } from './upgrade.ts';
import { hardenCommands } from './harden.ts';
import { backupCommands } from './backup.ts';
import { patchCommands } from './patch.ts';
import { scanCommands } from './scan.ts';
import { restoreCommands } from './restore.ts';

/** Every command module, in the order `--help` lists them. */
export const commandModules: CommandModule[] = [
  configCommands,
  bundleCommands,
  registryCommands,
  packCommands,
  keysCommands,
  certsCommands,
  hostsCommands,
  preflightCommands,
  encryptionCommands,
  installCommands,
  statusCommands,
  accessCommands,
  upgradeCommands,
  hardenCommands,
  backupCommands,
  patchCommands,
  scanCommands,
  restoreCommands,
];
