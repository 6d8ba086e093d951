import { usageError } from '../core/errors.ts';
import type { Command } from 'commander';
import type { LoadedConfig } from '../config/load.ts';

/**
 * A command module registers its subcommand(s) on the program. cli.ts only lists
 * the modules, so a new command slots in without touching unrelated code.
 */
export interface CommandModule {
  register(program: Command): void;
}

let exitCode = 0;
export const takeExitCode = (): number => {
  const c = exitCode;
  exitCode = 0;
  return c;
};

/**
 * Wrap an action handler: it returns its exit code (undefined = 0) and throws
 * PalisadeError for operator mistakes; cli.ts prints those without a stack.
 */
// biome-ignore lint/suspicious/noConfusingVoidType: an action returns its exit code, or nothing for 0
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void> | number | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const code = await fn(...args);
    exitCode = typeof code === 'number' ? code : 0;
  };
}

/** The `-o, --output <format>` value of every command that prints a report. */
export function parseOutputFormat(value: string): 'text' | 'json' {
  if (value !== 'text' && value !== 'json') throw usageError('usage.output', `--output must be text or json, not "${value}"`);
  return value;
}

/** The `-o, --output` option, for a command that prints a report or a result. */
export const withOutput = (c: Command, text = 'text or json'): Command => c.option('-o, --output <format>', text, 'text');

/** Print a command's result: its JSON document, or the sentence(s) for a person. */
export function emit(format: string, json: unknown, text: string): void {
  if (parseOutputFormat(format) === 'json') process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  else process.stdout.write(text.endsWith('\n') || text === '' ? text : `${text}\n`);
}

/** Is this run asked for JSON (`-o json`, `--output json`, `--output=json`)? For errors printed before a command parses its flags. */
export function argvWantsJson(args: readonly string[]): boolean {
  return args.some((a, i) => ((a === '-o' || a === '--output') && args[i + 1] === 'json') || a === '--output=json' || a === '-ojson');
}

/**
 * Read and check the config file. Its schemas are imported when a command runs, not when the
 * program starts: building them costs every start, `--version` included, some 25 ms.
 */
export async function loadConfig(path?: string): Promise<LoadedConfig> {
  return (await import('../config/load.ts')).loadConfig(path);
}
