import type { Command } from 'commander';
import { action, parseOutputFormat, type CommandModule, loadConfig } from './types.ts';
import { DEFAULT_CONFIG_PATH } from '../config/paths.ts';
import { INSTALL_PHASE_IDS } from '../phases/install/ids.ts';
import { checkPhaseFlags } from '../phases/runner.ts';

interface Flags {
  config: string;
  bundle?: string;
  trustedKey?: string;
  dryRun?: boolean;
  from?: string;
  only?: string;
  yes?: boolean;
  output: string;
  passphraseFile?: string;
}

export const installCommands: CommandModule = {
  register(program: Command) {
    program
      .command('install')
      .description('install the appliance onto the hosts from a signed bundle; resumable, and a re-run of a finished install changes nothing')
      .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
      .option(
        '--bundle <path>',
        'bundle directory or .tar (a --dry-run without it takes the one the last finished install ran from, if it is still there unchanged)',
      )
      .option('--trusted-key <pem-or-file>', 'public key the bundle must be signed by (default: bundle.trustedKey in palisade.yaml)')
      .option('--dry-run', 'print what would be done; change nothing')
      .option('--from <phase>', 'start at this phase (the earlier ones are taken as done)')
      .option('--only <phase>', 'run this phase only (with bundle and connect, which every run needs)')
      .option('-y, --yes', 'do not ask for confirmation')
      .option('--passphrase-file <file>', 'keystore passphrase file (or set PALISADE_PASSPHRASE)')
      .option('-o, --output <format>', 'text, or json (one event per line)', 'text')
      .addHelpText('after', `\nPhases, in order (names for --from and --only):\n  ${INSTALL_PHASE_IDS.join(', ')}\n`)
      .action(
        action(async (o: Flags) => {
          const output = parseOutputFormat(o.output);
          checkPhaseFlags(INSTALL_PHASE_IDS, o);
          const loaded = await loadConfig(o.config);
          const { installAction } = await import('../actions/install.ts');
          const { config: _c, output: _o, ...flags } = o;
          return installAction(loaded, { ...flags, output });
        }),
      );
  },
};
