import type { Command } from 'commander';
import { DateTime } from 'luxon';
import { action, parseOutputFormat, type CommandModule } from './types.ts';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../config/load.ts';
import { EXIT, PalisadeError, usageError } from '../core/errors.ts';

/**
 * `palisade upgrade` and its subcommands: windows (when may it run), plan
 * (what would change, how long, in which windows), the rolling run itself and
 * rollback. Flags only; the work is in upgrade/ and phases/upgrade/.
 */
interface WindowsFlags {
  config: string;
  from?: string;
  count: string;
  output: string;
}

interface PlanFlags {
  config: string;
  bundle: string;
  trustedKey?: string;
  output: string;
}

function parseFrom(v: string | undefined): number {
  if (v === undefined) return Date.now();
  const d = DateTime.fromISO(v, { setZone: true });
  if (!d.isValid) throw usageError('usage.from', `--from ${v}: not an ISO-8601 date-time`, 'write it like 2026-12-05T01:30:00Z or 2026-12-05T02:30:00+01:00');
  return d.toMillis();
}

function parseCount(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 500) throw usageError('usage.count', `--count ${v}: must be a whole number from 1 to 500`);
  return n;
}

export const upgradeCommands: CommandModule = {
  register(program: Command) {
    const up = program
      .command('upgrade')
      .description('upgrade the appliance host by host from a newer signed bundle, only inside the maintenance windows; `upgrade plan` first')
      .addHelpText('after', `
Exit codes: 0 done or up to date; 1 failed (hosts not yet touched stay on the old version);
2 usage or config error; 75 stopped cleanly between hosts because the next step does not fit
in the open window (run the same command in the next window, or add --wait-for-window);
130 interrupted (run it again to resume).`);

    up.command('windows')
      .description('list the next maintenance windows (merged), in their zone and in UTC, and whether one is open now')
      .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
      .option('--from <iso-8601>', 'list from this instant instead of now')
      .option('--count <n>', 'how many windows', '5')
      .option('-o, --output <format>', 'text, or json: {"windows": [{"start", "end", ...}], ...}', 'text')
      .action(
        action(async (o: WindowsFlags) => {
          parseOutputFormat(o.output);
          const from = parseFrom(o.from);
          const count = parseCount(o.count);
          const { config } = await loadConfig(o.config);
          const { nextWindows, describeWindow } = await import('../upgrade/windows.ts');
          const { renderWindows } = await import('../upgrade/render.ts');
          const ws = nextWindows(config.maintenanceWindows, from, count);
          const open = ws.find((w) => w.start <= from && from < w.end);
          if (o.output === 'json') {
            process.stdout.write(JSON.stringify({
              windows: ws.map(describeWindow),
              at: new Date(from).toISOString().replace(/\.\d{3}Z$/, 'Z'),
              inWindow: !!open,
              ...(open ? { remainingMinutes: Math.floor((open.end - from) / 60_000) } : {}),
              configured: config.maintenanceWindows.length,
            }) + '\n');
          } else {
            process.stdout.write(renderWindows(ws, from, config.maintenanceWindows.length));
          }
          return 0;
        }),
      );

    up.command('plan')
      .description('verify the new bundle, read what runs now from the hosts, and print current → target per component, the host order, estimates and the windows it needs')
      .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
      .requiredOption('--bundle <path>', 'the new bundle (directory or .tar)')
      .option('--trusted-key <pem-or-file>', 'public key the bundle must be signed by (default: bundle.trustedKey in palisade.yaml)')
      .option('-o, --output <format>', 'text, or json', 'text')
      .action(
        action(async (o: PlanFlags) => {
          parseOutputFormat(o.output);
          const loaded = await loadConfig(o.config);
          const { planUpgrade } = await import('../phases/upgrade/plan-command.ts');
          const { plan, text } = await planUpgrade({ loaded, bundle: o.bundle, ...(o.trustedKey ? { trustedKey: o.trustedKey } : {}) });
          process.stdout.write(o.output === 'json' ? JSON.stringify(plan) + '\n' : text);
          if (plan.problems.length) {
            const [p] = plan.problems;
            throw new PalisadeError(p!.code, plan.problems.length === 1 ? `the upgrade cannot start: ${p!.message}` : `the upgrade cannot start: ${plan.problems.length} problems (listed above)`, { hint: p!.hint, exitCode: EXIT.failure });
          }
          return 0;
        }),
      );
  },
};
