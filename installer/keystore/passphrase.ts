import { readFile, stat } from 'node:fs/promises';
import { PalisadeError, usageError } from '../core/errors.ts';
import { log, redact } from '../core/log.ts';
import { secretEnv, type SecretEnvName } from '../core/secret-env.ts';

/**
 * Where a passphrase comes from, in order: the file given, the environment
 * variable, a terminal prompt without echo (asked twice when it is new).
 * Never argv: a command line is visible to every user in `ps`.
 */

export const MIN_PASSPHRASE_LENGTH = 12;

export interface PassphraseSource {
  /** --passphrase-file (or --new-passphrase-file ...) */
  file?: string | undefined;
  /** env variable to read (default PALISADE_PASSPHRASE) */
  env?: SecretEnvName;
  /** a new passphrase: asked twice at a prompt, minimum length checked */
  create?: boolean;
  /** what it is for, in prompts and errors (default "keystore passphrase") */
  label?: string;
  /** the option name to suggest in errors (default --passphrase-file) */
  fileOption?: string;
  /** for tests: the terminal */
  input?: TtyInput;
  output?: NodeJS.WritableStream;
}

export interface TtyInput extends NodeJS.ReadableStream {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

function stripNewline(s: string): string {
  return s.replace(/\r?\n$/, '');
}

function checkNew(p: string, label: string, where: string): string {
  if (p.length < MIN_PASSPHRASE_LENGTH) {
    throw usageError(
      'keystore.passphrase-short',
      `the ${label} from ${where} is ${p.length} characters; it must be at least ${MIN_PASSPHRASE_LENGTH}`,
      'choose a longer passphrase (a few random words work well)',
    );
  }
  return p;
}

export async function resolvePassphrase(src: PassphraseSource = {}): Promise<string> {
  const p = await resolve(src);
  redact.add(p);
  return p;
}

async function resolve(src: PassphraseSource): Promise<string> {
  const env = src.env ?? 'PALISADE_PASSPHRASE';
  const label = src.label ?? 'keystore passphrase';
  const fileOption = src.fileOption ?? '--passphrase-file';
  if (src.file) {
    let text: string;
    try {
      text = await readFile(src.file, 'utf8');
    } catch (e) {
      throw usageError(
        'keystore.passphrase-file',
        `cannot read ${fileOption} ${src.file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
        'check the path and its permissions',
      );
    }
    const mode = (await stat(src.file)).mode & 0o077;
    if (mode) log.warn(`${src.file} is readable by other users (mode ${((await stat(src.file)).mode & 0o777).toString(8)}); chmod 600 it`);
    const p = stripNewline(text);
    if (!p) throw usageError('keystore.passphrase-empty', `${fileOption} ${src.file} is empty`);
    return src.create ? checkNew(p, label, src.file) : p;
  }
  const fromEnv = secretEnv(env);
  if (fromEnv !== undefined) return src.create ? checkNew(fromEnv, label, env) : fromEnv;
  const input = src.input ?? (process.stdin as TtyInput);
  const output = src.output ?? process.stderr;
  if (!input.isTTY || typeof input.setRawMode !== 'function') {
    throw usageError(
      'keystore.passphrase-missing',
      `no ${label}: not running in a terminal, and neither ${env} nor ${fileOption} is set`,
      `set ${env}, or pass ${fileOption} FILE (a file only you can read)`,
    );
  }
  const first = await promptHidden(`${label[0]!.toUpperCase()}${label.slice(1)}: `, input, output);
  if (!src.create) {
    if (!first) throw usageError('keystore.passphrase-empty', `the ${label} is empty`);
    return first;
  }
  checkNew(first, label, 'the prompt');
  const second = await promptHidden(`Repeat the ${label}: `, input, output);
  if (first !== second) throw usageError('keystore.passphrase-mismatch', `the two ${label}s typed differ`, 'run the command again');
  return first;
}

/** Read one line from a terminal in raw mode, echoing nothing. */
export function promptHidden(question: string, input: TtyInput, output: NodeJS.WritableStream): Promise<string> {
  // echo off before the prompt shows: whatever is typed (or pasted) after it is never echoed
  input.setRawMode!(true);
  output.write(question);
  input.resume();
  return new Promise((resolve, reject) => {
    let buf = '';
    const finish = (): void => {
      input.removeListener('data', onData);
      input.setRawMode!(false);
      input.pause();
      output.write('\n');
    };
    const onData = (chunk: Buffer | string): void => {
      for (const ch of typeof chunk === 'string' ? chunk : chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          finish();
          resolve(buf);
          return;
        }
        if (ch === '\u0003') {
          finish();
          reject(new PalisadeError('interrupted', 'interrupted at the passphrase prompt', { exitCode: 130 }));
          return;
        }
        if (ch === '\u007f' || ch === '\b') buf = [...buf].slice(0, -1).join('');
        else if (ch === '\u0015')
          buf = ''; // Ctrl-U
        else if (ch >= ' ') buf += ch;
      }
    };
    input.on('data', onData);
  });
}
