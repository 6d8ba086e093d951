import { access } from 'node:fs/promises';
import type { Command } from 'commander';
import { action, emit, withOutput, type CommandModule, loadConfig } from './types.ts';

// the schema, its JSON form and the template are built when a command asks for them
const load = {
  schema: () => import('../config/schema.ts'),
  strict: () => import('../config/strict.ts'),
  template: () => import('../config/template.ts'),
};
import { DEFAULT_CONFIG_PATH } from '../config/paths.ts';
import { writeFileAtomic } from '../core/atomic.ts';
import { usageError } from '../core/errors.ts';
import { printJson } from '../core/output.ts';

export const configCommands: CommandModule = {
  register(program: Command) {
    withOutput(program.command('init'))
      .description('write a commented palisade.yaml to start from')
      .option('-c, --config <file>', 'where to write it', DEFAULT_CONFIG_PATH)
      .option('--cluster <name>', 'cluster name')
      .option('--fqdn <name>', 'appliance FQDN')
      .option('--force', 'overwrite an existing file')
      .action(
        action(async (o: { config: string; cluster?: string; fqdn?: string; force?: boolean; output: string }) => {
          const exists = await access(o.config).then(
            () => true,
            () => false,
          );
          if (exists && !o.force) throw usageError('init.exists', `${o.config} already exists`, 'pass --force to overwrite it, or -c to write elsewhere');
          const { configTemplate } = await load.template();
          await writeFileAtomic(o.config, configTemplate(o), { mode: 0o644 });
          emit(o.output, { ok: true, path: o.config }, `wrote ${o.config}: edit the hosts, then run \`palisade validate -c ${o.config}\``);
        }),
      );

    withOutput(program.command('validate'))
      .description('check palisade.yaml: every problem with its field path, exit 2 if any')
      .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
      .action(
        action(async (o: { config: string; output: string }) => {
          const { config, path } = await loadConfig(o.config);
          const controllers = config.hosts.filter((h) => h.role === 'controller').length;
          emit(
            o.output,
            {
              ok: true,
              path,
              cluster: config.cluster.name,
              fqdn: config.cluster.fqdn,
              controllers,
              workers: config.hosts.length - controllers,
              hosts: config.hosts.map((h) => h.name),
            },
            `${o.config} is valid: cluster ${config.cluster.name}, ${controllers} controller(s), ${config.hosts.length - controllers} worker(s)`,
          );
        }),
      );

    const cfg = program.command('config').description('configuration helpers');
    cfg
      .command('schema')
      .description('print the JSON Schema of palisade.yaml (for editor completion)')
      .action(
        action(async () => {
          const [{ strictJsonSchema }, { configSchema }] = await Promise.all([load.strict(), load.schema()]);
          printJson(strictJsonSchema(configSchema));
        }),
      );
  },
};
