import type { Command } from 'commander';
import { DateTime } from 'luxon';
import { action, parseOutputFormat, type CommandModule, loadConfig } from './types.ts';
import { DEFAULT_CONFIG_PATH } from '../config/paths.ts';
import { EXIT, PalisadeError, usageError } from '../core/errors.ts';
import { runFailure } from '../phases/run-failure.ts';

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

interface RunFlags {
  config: string;
  bundle?: string;
  trustedKey?: string;
  waitForWindow?: boolean;
  ignoreWindow?: boolean;
  yes?: boolean;
  forceDrain?: boolean;
  dryRun?: boolean;
  output: string;
  passphraseFile?: string;
}

interface RollbackFlags {
  config: string;
  yes?: boolean;
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
      // the subcommands take -c, --bundle, -y and -o from here (a parent's options are read after its subcommand too)
      .configureHelp({ showGlobalOptions: true })
      .addHelpText(
        'after',
        `
Exit codes: 0 done or up to date; 1 failed (hosts not yet touched stay on the old version);
2 usage or config error; 75 stopped cleanly between hosts because the next step does not fit
in the open window (run the same command in the next window, or add --wait-for-window);
130 interrupted (run it again to resume).`,
      )
      .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
      .option('--bundle <path>', 'the new bundle (directory or .tar)')
      .option('--trusted-key <pem-or-file>', 'public key the bundle must be signed by (default: bundle.trustedKey in palisade.yaml)')
      .option('--wait-for-window', 'wait for the next window where the next step fits (connections kept alive), and carry on across windows until done')
      .option('--ignore-window', 'emergency: run outside the maintenance windows (needs --yes; recorded in the report)')
      .option('-y, --yes', 'confirm --ignore-window (and, for rollback, the rollback)')
      .option('--force-drain', 'delete pods a Pod Disruption Budget protects instead of stopping when a drain times out')
      .option('--dry-run', 'print what would be done; change nothing')
      .option('--passphrase-file <file>', 'keystore passphrase file (or set PALISADE_PASSPHRASE)')
      .option('-o, --output <format>', 'text, or json (one event per line, then the result)', 'text')
      .action(
        action(async (o: RunFlags) => {
          parseOutputFormat(o.output);
          if (!o.bundle)
            throw usageError(
              'usage.bundle',
              'palisade upgrade needs --bundle <path> (the new bundle)',
              'run `palisade upgrade plan --bundle NEW` first to see what it would do',
            );
          const loaded = await loadConfig(o.config);
          const { runUpgrade } = await import('../phases/run-upgrade.ts');
          const out = await runUpgrade({
            loaded,
            bundle: o.bundle,
            output: o.output === 'json' ? 'json' : 'text',
            ...(o.trustedKey ? { trustedKey: o.trustedKey } : {}),
            ...(o.dryRun ? { dryRun: true } : {}),
            ...(o.waitForWindow ? { waitForWindow: true } : {}),
            ...(o.ignoreWindow ? { ignoreWindow: true } : {}),
            ...(o.yes ? { yes: true } : {}),
            ...(o.forceDrain ? { forceDrain: true } : {}),
            ...(o.passphraseFile ? { passphraseFile: o.passphraseFile } : {}),
          });
          const r = out.result;
          const secs = (r.durationMs / 1000).toFixed(1);
          const status = r.ok ? (o.dryRun ? 'planned' : r.upToDate ? 'up-to-date' : 'done') : r.interrupted ? 'interrupted' : 'failed';
          if (o.output === 'json') {
            process.stdout.write(
              JSON.stringify({
                phase: 'upgrade',
                ok: r.ok,
                status,
                durationMs: r.durationMs,
                ...(o.dryRun ? { plan: r.plan } : {}),
                ...(out.report ? { report: out.report } : {}),
              }) + '\n',
            );
          } else if (o.dryRun) {
            const lines = r.plan.filter((p) => p.lines.length && !p.readOnly).map((p) => `  ${p.phase}${p.host ? ` @ ${p.host}` : ''}: ${p.lines.join('; ')}`);
            process.stdout.write(
              lines.length ? `dry run: the upgrade would\n${lines.join('\n')}\nnothing was changed\n` : 'dry run: up to date; nothing would change\n',
            );
          } else if (r.ok) {
            const rep = out.report;
            process.stdout.write(
              r.upToDate || !rep
                ? `up to date: nothing to upgrade (checked in ${secs} s)\n`
                : `upgraded "${rep.cluster}" to ${rep.target}${rep.ignoredWindow ? ' (maintenance windows IGNORED: --ignore-window)' : ''}\n${rep.hosts.map((h) => `  ${h.name.padEnd(12)} ${h.from ?? '?'} → ${h.to}${h.durationMs !== undefined ? `  ${(h.durationMs / 1000).toFixed(1)} s (estimated ${((h.estimateMs ?? 0) / 1000).toFixed(0)} s)` : '  (already there)'}`).join('\n')}\n  backup: ${rep.backup ?? '(none)'}\n  report: ${out.stateDir}/upgrade-report.json\ndone in ${secs} s\n`,
            );
          }
          if (!r.ok) {
            throw runFailure(
              'upgrade',
              r,
              'hosts not yet upgraded still run the old version; fix the cause and run the same command again, or `palisade upgrade rollback`',
            );
          }
          return 0;
        }),
      );

    up.command('rollback')
      .description('put the hosts the last upgrade touched back on their previous binary, in reverse order, each through the health gate')
      .action(
        action(async (_f: unknown, cmd: Command) => {
          const o = cmd.optsWithGlobals() as RollbackFlags;
          parseOutputFormat(o.output);
          const loaded = await loadConfig(o.config);
          const { runRollback } = await import('../phases/upgrade/rollback.ts');
          const out = await runRollback({
            loaded,
            ...(o.yes ? { yes: true } : {}),
            progress: (l) => (o.output === 'json' ? undefined : process.stderr.write(`${l}\n`)),
          });
          if (o.output === 'json') process.stdout.write(JSON.stringify({ ok: true, rolledBack: out.rolledBack, nothing: out.nothing }) + '\n');
          else
            process.stdout.write(
              out.nothing
                ? 'nothing to roll back: the last upgrade touched no host (or was rolled back already)\n'
                : `rolled back: ${out.rolledBack.map((r) => `${r.host} → ${r.to}`).join(', ')}\n`,
            );
          return 0;
        }),
      );

    up.command('windows')
      .description(
        'list the next maintenance windows (merged), in their zone and in UTC, and whether one is open now; -o json prints {"windows": [{"start", "end", ...}], ...}',
      )
      .option('--from <iso-8601>', 'list from this instant instead of now')
      .option('--count <n>', 'how many windows', '5')
      .action(
        action(async (_f: unknown, cmd: Command) => {
          const o = cmd.optsWithGlobals() as WindowsFlags;
          parseOutputFormat(o.output);
          const from = parseFrom(o.from);
          const count = parseCount(o.count);
          const { config } = await loadConfig(o.config);
          const { nextWindows, describeWindow } = await import('../upgrade/windows.ts');
          const { renderWindows } = await import('../upgrade/render.ts');
          const ws = nextWindows(config.maintenanceWindows, from, count);
          const open = ws.find((w) => w.start <= from && from < w.end);
          if (o.output === 'json') {
            process.stdout.write(
              JSON.stringify({
                ok: true,
                windows: ws.map(describeWindow),
                at: new Date(from).toISOString().replace(/\.\d{3}Z$/, 'Z'),
                inWindow: !!open,
                ...(open ? { remainingMinutes: Math.floor((open.end - from) / 60_000) } : {}),
                configured: config.maintenanceWindows.length,
              }) + '\n',
            );
          } else {
            process.stdout.write(renderWindows(ws, from, config.maintenanceWindows.length));
          }
          return 0;
        }),
      );

    up.command('plan')
      .description(
        'verify the new bundle (--bundle), read what runs now from the hosts, and print current → target per component, the host order, estimates and the windows it needs; changes nothing',
      )
      .action(
        action(async (_f: unknown, cmd: Command) => {
          const o = cmd.optsWithGlobals() as PlanFlags & { bundle?: string };
          parseOutputFormat(o.output);
          if (!o.bundle) throw usageError('usage.bundle', 'palisade upgrade plan needs --bundle <path> (the new bundle)');
          const loaded = await loadConfig(o.config);
          const { planUpgrade } = await import('../phases/upgrade/plan-command.ts');
          const { plan, text } = await planUpgrade({ loaded, bundle: o.bundle, ...(o.trustedKey ? { trustedKey: o.trustedKey } : {}) });
          if (o.output === 'json') {
            // one document, refusals included: the plan says why it cannot start
            process.stdout.write(JSON.stringify({ ok: plan.problems.length === 0, ...plan }) + '\n');
            return plan.problems.length ? EXIT.failure : 0;
          }
          process.stdout.write(text);
          if (plan.problems.length) {
            const [p] = plan.problems;
            throw new PalisadeError(
              p!.code,
              plan.problems.length === 1
                ? `the upgrade cannot start: ${p!.message}`
                : `the upgrade cannot start: ${plan.problems.length} problems (listed above)`,
              { hint: p!.hint, exitCode: EXIT.failure },
            );
          }
          return 0;
        }),
      );
  },
};
