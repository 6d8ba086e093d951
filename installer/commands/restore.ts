import type { Command } from 'commander';
import { resolve } from 'node:path';
import { action, parseOutputFormat, type CommandModule, loadConfig } from './types.ts';
import { openKeyFrom } from './backup.ts';
import { DEFAULT_CONFIG_PATH } from '../config/paths.ts';
import { runFailure } from '../phases/run-failure.ts';

interface RestoreFlags {
  config: string;
  bundle?: string;
  trustedKey?: string;
  dryRun?: boolean;
  from?: string;
  only?: string;
  yes?: boolean;
  passphraseFile?: string;
  identity?: string;
  output: string;
}

export const restoreCommands: CommandModule = {
  register(program: Command) {
    program
      .command('restore <file>')
      .description(
        'bring the appliance back from a backup: verified first (nothing changes on a bad file), then the datastore restored as k3s documents it, the other controllers rejoined, workers restarted, replaced hosts set up; resumable',
      )
      .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
      .option('--bundle <path>', 'the bundle the appliance runs (default: the one the install report names)')
      .option('--trusted-key <pem-or-file>', 'public key the bundle must be signed by (default: bundle.trustedKey in palisade.yaml)')
      .option('--dry-run', 'verify the backup and print what would be done; change nothing')
      .option('--from <phase>', 'start at this phase (the earlier ones are taken as done)')
      .option('--only <phase>', 'run this phase only')
      .option('-y, --yes', 'do not ask; also replace a keystore here that differs from the backup\u2019s')
      .option('--passphrase-file <file>', 'keystore passphrase file (or set PALISADE_PASSPHRASE); also opens a passphrase-sealed backup')
      .option('--identity <file>', 'age identity file, for a backup sealed with --recipient')
      .option('-o, --output <format>', 'text, or json (one event per line)', 'text')
      .addHelpText(
        'after',
        '\nReplacement hosts (same names and addresses, new machines) present new host keys: the restore stops and names them; check the fingerprints, run `palisade hosts trust --replace`, then run the restore again.',
      )
      .action(
        action(async (file: string, o: RestoreFlags) => {
          parseOutputFormat(o.output);
          const loaded = await loadConfig(o.config);
          const openKey = await openKeyFrom(o);
          const { runRestore } = await import('../phases/restore/run.ts');
          const r = await runRestore({
            loaded,
            file: resolve(file),
            openKey,
            output: o.output === 'json' ? 'json' : 'text',
            ...(o.bundle ? { bundle: o.bundle } : {}),
            ...(o.trustedKey ? { trustedKey: o.trustedKey } : {}),
            ...(o.dryRun ? { dryRun: true } : {}),
            ...(o.from ? { from: o.from } : {}),
            ...(o.only ? { only: o.only } : {}),
            ...(o.yes ? { yes: true } : {}),
            ...(o.passphraseFile ? { passphraseFile: o.passphraseFile } : {}),
          });
          const secs = (r.durationMs / 1000).toFixed(1);
          if (o.output === 'json')
            process.stdout.write(
              `${JSON.stringify({ phase: 'restore', status: r.ok ? (o.dryRun ? 'planned' : 'done') : r.interrupted ? 'interrupted' : 'failed', durationMs: r.durationMs, ...(o.dryRun ? { plan: r.plan } : {}) })}\n`,
            );
          else if (o.dryRun && r.ok) {
            const lines = r.plan.filter((p) => p.lines.length && !p.readOnly).map((p) => `  ${p.phase}${p.host ? ` @ ${p.host}` : ''}: ${p.lines.join('; ')}`);
            process.stdout.write(`dry run: the backup verified; the restore would\n${lines.join('\n')}\nnothing was changed\n`);
          } else if (r.ok)
            process.stdout.write(`restored from ${file} in ${secs} s${r.notes.length ? `\n${r.notes.map((n) => `  - ${n.note}`).join('\n')}` : ''}\n`);
          if (!r.ok) throw runFailure('restore', r, 'fix the cause, then run the same command again: it resumes');
          return 0;
        }),
      );
  },
};
