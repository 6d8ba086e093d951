import type { Command } from 'commander';
import { action, parseOutputFormat, type CommandModule } from './types.ts';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../config/load.ts';
import { usageError } from '../core/errors.ts';
import { log } from '../core/log.ts';
import { printJson } from '../core/output.ts';

const collect = (v: string, prev: string[]): string[] => [...prev, ...v.split(',').map((x) => x.trim()).filter(Boolean)];

export const patchCommands: CommandModule = {
  register(program: Command) {
    program
      .command('patch')
      .description("install the bundle's OS package set (Debian packages, offline) on every host: newer versions of installed packages only; says per host what changed and which hosts need a reboot (palisade never reboots here). Exit 1 when a host failed")
      .requiredOption('--bundle <path>', 'bundle directory or .tar (verified before anything is installed)')
      .option('--trusted-key <pem-or-file>', 'public key the bundle must be signed by (default: bundle.trustedKey in palisade.yaml)')
      .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
      .option('--host <name>', 'only this host (repeatable, or a comma list)', collect, [])
      .option('--dry-run', 'say what would be upgraded, install nothing')
      .option('-o, --output <format>', 'text or json', 'text')
      .action(
        action(async (o: { bundle: string; trustedKey?: string; config: string; host: string[]; dryRun?: boolean; output: string }, cmd: Command) => {
          parseOutputFormat(o.output);
          const loaded = await loadConfig(o.config);
          const unknown = o.host.filter((n) => !loaded.config.hosts.some((h) => h.name === n));
          if (unknown.length) throw usageError('usage.host', `no host named ${unknown.join(', ')} in palisade.yaml`, `hosts are: ${loaded.config.hosts.map((h) => h.name).join(', ')}`);
          const [{ resolveTrustedKey }, { runPatch, renderPatchReport }] = await Promise.all([import('../bundle/trust.ts'), import('../hardening/patch/run.ts')]);
          const trustedKey = await resolveTrustedKey({ ...(o.trustedKey ? { trustedKey: o.trustedKey } : {}), config: o.config, configExplicit: cmd.getOptionValueSource('config') === 'cli' });
          const report = await runPatch({
            config: loaded.config, baseDir: loaded.baseDir, bundlePath: o.bundle, trustedKey, dryRun: o.dryRun === true,
            ...(o.host.length ? { only: o.host } : {}),
            onHost: (h, l) => log.info(`${h}: ${l}`),
          });
          if (o.output === 'json') printJson(report);
          else process.stdout.write(renderPatchReport(report));
          return report.ok ? 0 : 1;
        }),
      );
  },
};
