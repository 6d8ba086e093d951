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
  let words = args.filter((a) => !a.startsWith('-'));
  // `palisade help keys list` asks about `keys list`
  if (words[0] === 'help' && !find(program, 'help')) words = words.slice(1);
  let at = program;
  const path: string[] = [];
  for (const word of words) {
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
