import type { Command } from 'commander';
import { action, parseOutputFormat, type CommandModule, loadConfig } from './types.ts';
import { DEFAULT_CONFIG_PATH } from '../config/paths.ts';
import { printJson } from '../core/output.ts';

// the implementation (and ssh2 with it) loads when a command runs
const load = () => import('../actions/access.ts');
const list = (v: string): string[] =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export const accessCommands: CommandModule = {
  register(program: Command) {
    const access = program
      .command('access')
      .description('tenants, projects and teams (palisade.yaml `access:`): render, apply and ask who may do what')
      .addHelpText(
        'after',
        '\nUsers and groups are given as the identity provider sends them; the configured OIDC prefixes are applied as the API server applies them.',
      );

    access
      .command('render')
      .description(
        'print the Namespaces, quotas, NetworkPolicies, ClusterRoles and RoleBindings that `access:` becomes, as YAML (offline: /regex/ claims show no live namespace)',
      )
      .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
      .action(
        action(async (o: { config: string }) => {
          const a = await load();
          process.stdout.write(a.renderYaml(a.renderOffline(await loadConfig(o.config))));
        }),
      );

    access
      .command('apply')
      .description(
        'apply `access:` to the cluster through the first controller and remove what palisade made that the config no longer asks for (by its ownership label); namespaces are released, never deleted',
      )
      .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
      .option('--dry-run', 'say what would be created, updated and removed; change nothing')
      .option('-o, --output <format>', 'text or json', 'text')
      .action(
        action(async (o: { config: string; dryRun?: boolean; output: string }) => {
          parseOutputFormat(o.output);
          const a = await load();
          const r = await a.applyAccessToCluster(await loadConfig(o.config), { dryRun: !!o.dryRun });
          if (o.output === 'json') printJson(r);
          else process.stdout.write(a.applyText(r));
        }),
      );

    access
      .command('explain')
      .description('what a user may do: the bindings that apply to them and why, and the union of their rules')
      .requiredOption('--user <name>', 'the user, as the identity provider names them')
      .option('--groups <list>', "the user's groups, comma separated", list, [])
      .option('-n, --namespace <name>', 'only this namespace')
      .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
      .option('-o, --output <format>', 'text or json', 'text')
      .action(
        action(async (o: { user: string; groups: string[]; namespace?: string; config: string; output: string }) => {
          parseOutputFormat(o.output);
          const a = await load();
          const e = a.explainAccess(await loadConfig(o.config), { user: o.user, groups: o.groups, ...(o.namespace ? { namespace: o.namespace } : {}) });
          if (o.output === 'json') printJson(e);
          else process.stdout.write(a.explainText(e));
        }),
      );

    access
      .command('who-can')
      .description('the users, groups and teams that may VERB RESOURCE (kubectl notation: pods, pods/log, deployments.apps, deployments.apps/scale)')
      .argument('<verb>', 'get, list, watch, create, update, patch, delete, deletecollection, or *')
      .argument('<resource>', 'resource[.group][/subresource]')
      .option('-n, --namespace <name>', 'in this namespace (default: every tenant namespace)')
      .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
      .option('-o, --output <format>', 'text or json', 'text')
      .action(
        action(async (verb: string, resource: string, o: { namespace?: string; config: string; output: string }) => {
          parseOutputFormat(o.output);
          const a = await load();
          const w = a.whoCanAccess(await loadConfig(o.config), { verb, resource, ...(o.namespace ? { namespace: o.namespace } : {}) });
          if (o.output === 'json') printJson(w);
          else process.stdout.write(a.whoCanText(w));
        }),
      );
  },
};
