import { usageError } from '../core/errors.ts';
import type { Command } from 'commander';

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
