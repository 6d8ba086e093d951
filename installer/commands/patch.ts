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

export const patchCommands: CommandModule = {
  register(program: Command) {
    program
      .command('patch')
      .description(
        "install the bundle's OS package set (Debian packages, offline) on every host: newer versions of installed packages only; says per host what changed and which hosts need a reboot. With --reboot, those hosts are rebooted one at a time inside a maintenance window (drained, back Ready, the cluster's health gate passed before the next). Exit 1 when a host failed, 75 when the window closed before every reboot was done",
      )
      .requiredOption('--bundle <path>', 'bundle directory or .tar (verified before anything is installed)')
      .option('--trusted-key <pem-or-file>', 'public key the bundle must be signed by (default: bundle.trustedKey in palisade.yaml)')
      .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
      .option('--host <name>', 'only this host (repeatable, or a comma list)', collect, [])
      .option('--dry-run', 'say what would be upgraded (and rebooted), change nothing')
      .option('--reboot', 'reboot the hosts that need it, one at a time, only inside a maintenance window (maintenanceWindows in palisade.yaml)')
      .option('--wait-for-window', 'with --reboot: wait for the next window instead of stopping (exit 75) when none is open')
      .option('--ignore-window', 'with --reboot: the emergency override, reboot now whatever the windows say (needs --yes)')
      .option('--yes', 'confirm --ignore-window')
      .option('-o, --output <format>', 'text or json', 'text')
      .action(
        action(
          async (
            o: {
              bundle: string;
              trustedKey?: string;
              config: string;
              host: string[];
              dryRun?: boolean;
              output: string;
              reboot?: boolean;
              waitForWindow?: boolean;
              ignoreWindow?: boolean;
              yes?: boolean;
            },
            cmd: Command,
          ) => {
            parseOutputFormat(o.output);
            if ((o.waitForWindow || o.ignoreWindow) && !o.reboot)
              throw usageError('patch.flags', '--wait-for-window and --ignore-window go with --reboot', 'add --reboot, or leave them out');
            if (o.ignoreWindow && !o.yes)
              throw usageError(
                'patch.ignore-window',
                '--ignore-window is the emergency override and needs --yes with it',
                'add --yes, or leave it out to reboot inside a maintenance window',
              );
            if (o.ignoreWindow && o.waitForWindow) throw usageError('patch.flags', 'give --wait-for-window or --ignore-window, not both');
            const loaded = await loadConfig(o.config);
            const unknown = o.host.filter((n) => !loaded.config.hosts.some((h) => h.name === n));
            if (unknown.length)
              throw usageError(
                'usage.host',
                `no host named ${unknown.join(', ')} in palisade.yaml`,
                `hosts are: ${loaded.config.hosts.map((h) => h.name).join(', ')}`,
              );
            const [{ resolveTrustedKey }, { runPatch, renderPatchReport }] = await Promise.all([
              import('../bundle/trust.ts'),
              import('../hardening/patch/run.ts'),
            ]);
            const trustedKey = await resolveTrustedKey({
              ...(o.trustedKey ? { trustedKey: o.trustedKey } : {}),
              config: o.config,
              configExplicit: cmd.getOptionValueSource('config') === 'cli',
            });
            const report = await runPatch({
              config: loaded.config,
              baseDir: loaded.baseDir,
              bundlePath: o.bundle,
              trustedKey,
              dryRun: o.dryRun === true,
              ...(o.host.length ? { only: o.host } : {}),
              ...(o.reboot ? { reboot: { ignoreWindow: !!o.ignoreWindow, waitForWindow: !!o.waitForWindow, signal: new AbortController().signal } } : {}),
              onHost: (h, l) => log.info(`${h}: ${l}`),
            });
            if (o.output === 'json') printJson(report);
            else process.stdout.write(renderPatchReport(report));
            return !report.ok ? 1 : report.reboot.stopped ? 75 : 0;
          },
        ),
      );
  },
};
