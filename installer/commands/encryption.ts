import type { Command } from 'commander';
import type { CommonFlags } from '../actions/encryption.ts';
import { DEFAULT_CONFIG_PATH } from '../config/paths.ts';
import { action, parseOutputFormat, type CommandModule } from './types.ts';

// the action loads when a command runs, so other commands start faster
const actions = () => import('../actions/encryption.ts');

function common(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
    .option('--host <name...>', 'only these hosts (repeat or list; default: every host with encryption configured)')
    .option('-o, --output <format>', 'text or json', 'text')
    .option('--allow-unopened', 'accept hosts without device-mapper: format and bind the disks, leave them closed')
    .option('--keystore <file>', 'keystore holding the recovery keys (default: the cluster keystore in .palisade/<cluster>/ beside the config)')
    .option('--passphrase-file <file>', 'file holding the keystore passphrase (or set PALISADE_PASSPHRASE; a terminal prompts)');
}

export const encryptionCommands: CommandModule = {
  register(program: Command) {
    const enc = program.command('encryption').description('data disk encryption (LUKS2 bound to TPM2 and/or Tang): plan, apply, status');
    common(
      enc.command('plan').description('show what apply would do to each data disk; changes nothing (exit 1 when a disk is refused or a host blocked)'),
    ).action(
      action(async (o: CommonFlags) => {
        parseOutputFormat(o.output);
        return (await actions()).encryptionPlan(o);
      }),
    );
    common(enc.command('apply').description('encrypt, bind and verify the data disks (recovery keys stored in the keystore before any format)'))
      .option('-y, --yes', 'confirm formatting the disks the plan formats (their contents are lost)')
      .action(
        action(async (o: CommonFlags & { yes?: boolean }) => {
          parseOutputFormat(o.output);
          return (await actions()).encryptionApply(o);
        }),
      );
    common(enc.command('status').description('verify every encrypted disk: header, bindings, pins release a key, escrowed recovery key opens it')).action(
      action(async (o: CommonFlags) => {
        parseOutputFormat(o.output);
        return (await actions()).encryptionStatus(o);
      }),
    );
  },
};
