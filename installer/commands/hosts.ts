import type { Command } from 'commander';
import { action, parseOutputFormat, withOutput, type CommandModule, loadConfig } from './types.ts';
import { DEFAULT_CONFIG_PATH } from '../config/paths.ts';
import { printJson } from '../core/output.ts';

// implementations load when a command runs (ssh2 is heavy), so other commands start faster
const load = {
  pin: () => import('../hosts/pin.ts'),
  check: () => import('../hosts/check.ts'),
};

export const hostsCommands: CommandModule = {
  register(program: Command) {
    const hosts = program.command('hosts').description('SSH to the hosts: pin their host keys, check they are reachable');

    withOutput(hosts.command('trust'))
      .description('show each host key fingerprint and pin the ones you accept in palisade.yaml (comments are kept)')
      .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
      .option('-y, --yes', 'pin new keys without asking (compare the fingerprints with the hosts first)')
      .option('--replace', 'also replace pinned keys that CHANGED (only after checking why on the host console)')
      .action(
        action(async (o: { config: string; yes?: boolean; replace?: boolean; output: string }) => {
          const json = parseOutputFormat(o.output) === 'json';
          const loaded = await loadConfig(o.config);
          const { trustHosts } = await load.pin();
          return trustHosts(loaded, {
            ...(o.yes ? { yes: true } : {}),
            ...(o.replace ? { replace: true } : {}),
            // the tables and sentences go to stderr so the questions still make sense; stdout has the one document
            ...(json ? { out: (t: string) => void process.stderr.write(t), report: (r) => printJson(r) } : {}),
          });
        }),
      );

    hosts
      .command('check')
      .description('connect to every host, run a trivial command (through sudo for a non-root user) and show the result')
      .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
      .option('-o, --output <format>', 'text or json', 'text')
      .action(
        action(async (o: { config: string; output: string }) => {
          parseOutputFormat(o.output);
          const loaded = await loadConfig(o.config);
          const { checkHosts, renderChecks } = await load.check();
          const checks = await checkHosts(loaded);
          if (o.output === 'json') printJson({ ok: checks.every((c) => c.ok), hosts: checks });
          else process.stdout.write(`${renderChecks(checks)}\n`);
          return checks.every((c) => c.ok) ? 0 : 1;
        }),
      );
  },
};
