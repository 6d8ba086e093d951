/**
 * Unknown commands: `palisade upgrade --help` or `palisade help nosuch` must not
 * print the top-level help and exit 0 (a script would believe the command exists).
 * Walks argv against the registered command tree before commander parses it, so
 * the check holds with or without --help. Pure over the Command tree.
 */
import type { Command } from 'commander';
import { usageError, type PalisadeError } from '../core/errors.ts';
import { nearestName } from '../core/suggest.ts';

const names = (c: Command): string[] => c.commands.flatMap((s) => [s.name(), ...s.aliases()]);
const find = (c: Command, name: string): Command | undefined => c.commands.find((s) => s.name() === name || s.aliases().includes(name));

/** The first words of argv that name commands, checked against the tree; an error for the first that is not one. */
export function unknownCommand(program: Command, args: readonly string[]): PalisadeError | undefined {
  let at = program;
  const path: string[] = [];
  let helpWord = false;
  for (let i = 0; i < args.length; i++) {
    const word = args[i]!;
    if (word.startsWith('-')) {
      // the value of an option of a command on the way (`upgrade -c FILE windows`) is not a command
      if (!word.includes('=') && takesValue(at, word)) i++;
      continue;
    }
    // `palisade help keys list` asks about `keys list`
    if (path.length === 0 && !helpWord && word === 'help' && !find(program, 'help')) {
      helpWord = true;
      continue;
    }
    if (at.commands.length === 0) return undefined;
    const next = find(at, word);
    if (!next) {
      // a group with its own arguments (none today) takes words that are not commands
      if (at !== program && at.registeredArguments.length > 0) return undefined;
      const where = path.length ? `palisade ${path.join(' ')}` : 'palisade';
      const near = nearestName(word, names(at));
      return usageError(
        'usage.command',
        `unknown command "${[...path, word].join(' ')}"`,
        `${near ? `did you mean \`${where} ${near}\`? ` : ''}the commands of ${where} are: ${names(at).join(', ')} (\`${where} --help\`)`,
      );
    }
    path.push(word);
    at = next;
  }
  return undefined;
}

function takesValue(c: Command | null, flag: string): boolean {
  for (let at = c; at; at = at.parent) {
    const o = at.options.find((x) => x.long === flag || x.short === flag);
    if (o) return o.required || o.optional;
  }
  return false;
}
