import type { Command } from 'commander';
import { action, parseOutputFormat, type CommandModule } from './types.ts';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../config/load.ts';
import { isPalisadeError, PalisadeError, EXIT } from '../core/errors.ts';

interface InstallFlags {
  config: string;
  bundle: string;
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
      .requiredOption('--bundle <path>', 'bundle directory or .tar')
      .option('--trusted-key <pem-or-file>', 'public key the bundle must be signed by (default: bundle.trustedKey in palisade.yaml)')
      .option('--dry-run', 'print what would be done; change nothing')
      .option('--from <phase>', 'start at this phase (the earlier ones are taken as done)')
      .option('--only <phase>', 'run this phase only')
      .option('-y, --yes', 'do not ask for confirmation')
      .option('--passphrase-file <file>', 'keystore passphrase file (or set PALISADE_PASSPHRASE)')
      .option('-o, --output <format>', 'text, or json (one event per line)', 'text')
      .action(
        action(async (o: InstallFlags) => {
          parseOutputFormat(o.output);
          const loaded = await loadConfig(o.config);
          const { runInstall } = await import('../phases/run-install.ts');
          const out = await runInstall({
            loaded, bundle: o.bundle, output: o.output === 'json' ? 'json' : 'text',
            ...(o.trustedKey ? { trustedKey: o.trustedKey } : {}), ...(o.dryRun ? { dryRun: true } : {}), ...(o.from ? { from: o.from } : {}),
            ...(o.only ? { only: o.only } : {}), ...(o.yes ? { yes: true } : {}), ...(o.passphraseFile ? { passphraseFile: o.passphraseFile } : {}),
          });
          const r = out.result;
          const secs = (r.durationMs / 1000).toFixed(1);
          if (o.output === 'json') {
            process.stdout.write(JSON.stringify({ phase: 'install', status: r.ok ? (o.dryRun ? 'planned' : r.upToDate ? 'up-to-date' : 'done') : r.interrupted ? 'interrupted' : 'failed', durationMs: r.durationMs, ...(o.dryRun ? { plan: r.plan } : {}) }) + '\n');
          } else if (o.dryRun) {
            const changes = r.plan.filter((p) => p.lines.length && !p.readOnly);
            const lines = r.plan.filter((p) => p.lines.length).map((p) => `  ${p.phase}${p.host ? ` @ ${p.host}` : ''}: ${p.lines.join('; ')}`);
            process.stdout.write(changes.length ? `dry run: the install would\n${lines.join('\n')}\nnothing was changed\n` : 'dry run: up to date; nothing would change (then verify and report)\n');
          } else if (r.ok) {
            process.stdout.write(r.upToDate ? `up to date: nothing to change (checked in ${secs} s)\n` : `${out.summary ?? 'installed\n'}done in ${secs} s\n`);
          }
          if (!r.ok) {
            const e = r.failed?.error;
            if (r.interrupted) throw new PalisadeError('install.interrupted', 'interrupted: stopped between steps; locks released. Run the same command again to resume', { exitCode: EXIT.interrupted });
            if (isPalisadeError(e)) throw e;
            throw new PalisadeError('install.failed', `install failed in phase ${r.failed?.phase ?? '?'}${r.failed?.host ? ` on ${r.failed.host}` : ''}: ${(e as Error)?.message ?? String(e)}`, {
              hint: 'fix the cause, then run the same command again: finished work is skipped',
            });
          }
          return 0;
        }),
      );
  },
};
