import { Command, CommanderError } from 'commander';
import { EXIT, formatError, isPalisadeError } from './core/errors.ts';
import { log } from './core/log.ts';
import { takeSecretEnv } from './core/secret-env.ts';
import { commandModules } from './commands/index.ts';
import { argvWantsJson, takeExitCode } from './commands/types.ts';
import { unknownCommand } from './commands/unknown.ts';

import { versionLine } from './core/build-info.ts';

export function buildProgram(): Command {
  const program = new Command('palisade')
    .description('Install and upgrade the palisade management appliance on air-gapped hosts, over SSH, from a signed offline bundle.')
    .version(versionLine(), '-V, --version', 'print the palisade version and the commit it was built from')
    .option('-v, --verbose', 'log more detail (to stderr)')
    .option('-q, --quiet', 'log errors only')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: false })
    .exitOverride();
  program.hook('preAction', (cmd) => {
    const o = cmd.optsWithGlobals() as { verbose?: boolean; quiet?: boolean };
    if (o.verbose) log.level = 'debug';
    if (o.quiet) log.level = 'error';
  });
  for (const m of commandModules) m.register(program);
  return program;
}

/** Run the CLI; returns the process exit code. Never throws. */
export async function main(argv: string[]): Promise<number> {
  // before anything can start a child process: secrets never reach one's environment
  takeSecretEnv();
  const program = buildProgram();
  try {
    const unknown = unknownCommand(program, argv.slice(2));
    if (unknown) throw unknown;
    await program.parseAsync(argv);
    return takeExitCode();
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version exit 0; usage mistakes exit 2 (commander already printed the reason)
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT.ok;
      return EXIT.usage;
    }
    process.stderr.write(formatError(e) + '\n');
    // a script that asked for JSON gets the refusal as JSON too (the text stays on stderr for people)
    if (isPalisadeError(e) && argvWantsJson(argv)) {
      process.stdout.write(
        `${JSON.stringify({ ok: false, error: { code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}), details: e.details } }, null, 2)}\n`,
      );
    }
    return isPalisadeError(e) ? e.exitCode : EXIT.internal;
  }
}
