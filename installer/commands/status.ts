import type { Command } from 'commander';
import { action, parseOutputFormat, type CommandModule, loadConfig } from './types.ts';
import { DEFAULT_CONFIG_PATH } from '../config/paths.ts';
import { printJson, renderTable } from '../core/output.ts';

export const statusCommands: CommandModule = {
  register(program: Command) {
    program
      .command('status')
      .description('the appliance now: journal of the last install, hosts and services, endpoints, certificate expiry; exit 1 when not healthy')
      .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
      .option('-o, --output <format>', 'text or json', 'text')
      .action(
        action(async (o: { config: string; output: string }) => {
          parseOutputFormat(o.output);
          const loaded = await loadConfig(o.config);
          const [{ clusterStatus, renderStatus }, { k3sDriver }, { connectHosts }] = await Promise.all([
            import('../phases/status.ts'),
            import('../cluster/k3s.ts'),
            import('../hosts/index.ts'),
          ]);
          const s = await clusterStatus({ loaded, driver: k3sDriver, connect: (c, b) => connectHosts(c, b) });
          if (o.output === 'json') printJson(s);
          else process.stdout.write(renderStatus(s, renderTable));
          return s.ok ? 0 : 1;
        }),
      );
  },
};
