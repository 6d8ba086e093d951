import type { Command } from 'commander';
import { action, parseOutputFormat, type CommandModule, loadConfig } from './types.ts';
import { DEFAULT_CONFIG_PATH } from '../config/paths.ts';
import { usageError } from '../core/errors.ts';
import { log } from '../core/log.ts';
import { printJson } from '../core/output.ts';

const collect = (v: string, prev: string[]): string[] => [
  ...prev,
  ...v
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean),
];

export const hardenCommands: CommandModule = {
  register(program: Command) {
    program
      .command('harden')
      .description(
        'check every host against the hardening rules (SSH server, kernel parameters, file permissions, legacy packages) and fix what is not right; an SSH change is kept only after sshd -t and a fresh key login pass. Exit 1 when a rule failed',
      )
      .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
      .option('--host <name>', 'only this host (repeatable, or a comma list)', collect, [])
      .option('--dry-run', 'check only: print what would be fixed, change nothing')
      .option('-o, --output <format>', 'text or json', 'text')
      .addHelpText(
        'after',
        '\nResults per host and rule: already right, fixed (or "would fix" in a dry run), not applicable (with why), excepted (hardening.exceptions in palisade.yaml, with its reason), look at it (reported, not changed: world-writable or unowned files), FAILED.\n',
      )
      .action(
        action(async (o: { config: string; host: string[]; dryRun?: boolean; output: string }) => {
          parseOutputFormat(o.output);
          const { config, baseDir } = await loadConfig(o.config);
          const unknown = o.host.filter((n) => !config.hosts.some((h) => h.name === n));
          if (unknown.length)
            throw usageError('usage.host', `no host named ${unknown.join(', ')} in palisade.yaml`, `hosts are: ${config.hosts.map((h) => h.name).join(', ')}`);
          const [{ runHarden }, { renderHardenReport }] = await Promise.all([import('../hardening/run.ts'), import('../hardening/report.ts')]);
          const report = await runHarden({
            config,
            baseDir,
            dryRun: o.dryRun === true,
            ...(o.host.length ? { only: o.host } : {}),
            onHost: (h, l) => log.info(`${h}: ${l}`),
          });
          if (o.output === 'json') printJson(report);
          else process.stdout.write(renderHardenReport(report));
          return report.ok ? 0 : 1;
        }),
      );
  },
};
