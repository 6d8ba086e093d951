import type { Command } from 'commander';
import { action, parseOutputFormat, type CommandModule, loadConfig } from './types.ts';
import { DEFAULT_CONFIG_PATH } from '../config/paths.ts';
import { usageError } from '../core/errors.ts';
import { printJson } from '../core/output.ts';

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export const preflightCommands: CommandModule = {
  register(program: Command) {
    program
      .command('preflight')
      .description('gather facts from every host (one SSH round trip each) and this machine, check them against the sizing profile; exit 1 on any failure')
      .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
      .option('--local', 'check this machine (as a controller) instead of the hosts')
      .option('--host <name>', 'check only this host (repeatable)', collect, [])
      .option('--ignore <id>', 'waive a check: ID, or ID@HOST for one host (repeatable; the report shows it as waived)', collect, [])
      .option('--no-disk-probe', 'skip the fdatasync latency probe (a few seconds, a few MB per host)')
      .option('-o, --output <format>', 'text or json', 'text')
      .action(
        action(async (o: { config: string; local?: boolean; host: string[]; ignore: string[]; diskProbe: boolean; output: string }) => {
          parseOutputFormat(o.output);
          if (o.local && o.host.length)
            throw usageError('usage.preflight', '--local and --host do not go together', '--local checks this machine; --host picks hosts from palisade.yaml');
          const { config, baseDir } = await loadConfig(o.config);
          const { runPreflight } = await import('../preflight/run.ts');
          const [{ Journal }, { stateDir, stateFiles }] = await Promise.all([import('../state/journal.ts'), import('../state/paths.ts')]);
          // an installed appliance: its journal says what on the hosts is its own
          const journal = await Journal.read(stateFiles(stateDir(baseDir, config.cluster.name)).journal);
          const { renderReport } = await import('../preflight/report.ts');
          const tty = process.stderr.isTTY === true && !process.env.CI;
          const report = await runPreflight({
            config,
            baseDir,
            ...(o.local ? { local: true } : {}),
            ...(o.host.length ? { only: o.host } : {}),
            ignore: o.ignore,
            diskLatency: o.diskProbe,
            ...(journal ? { journal } : {}),
            progress: o.output === 'json' ? 'none' : tty ? 'tty' : 'plain',
          });
          if (o.output === 'json') printJson(report);
          else process.stdout.write(renderReport(report) + '\n');
          return report.summary.ok ? 0 : 1;
        }),
      );
  },
};
