import type { CommandModule } from './types.ts';
import { configCommands } from './config.ts';

/** Every command module, in the order `--help` lists them. */
export const commandModules: CommandModule[] = [
  configCommands,
];
