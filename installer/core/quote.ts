/**
 * The one shell-quoting helper. Every value that reaches a remote or local shell
 * goes through `shq` (or the `sh` template, which applies it to each interpolation).
 */

/** Quote one argument for a POSIX shell: the result is always a single word, taken literally. */
export function shq(value: string | number): string {
  const s = String(value);
  if (s.includes('\0')) throw new Error('a shell argument cannot contain a NUL byte');
  if (s !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Quote a list of arguments into one command line. */
export function shjoin(args: ReadonlyArray<string | number>): string {
  return args.map(shq).join(' ');
}

/** Raw shell text that `sh` must not quote (operators, redirections). Use sparingly. */
export class RawShell {
  constructor(readonly text: string) {}
}
export const raw = (text: string): RawShell => new RawShell(text);

/**
 * Build a command line: sh`mkdir -p ${dir} && chmod ${mode} ${dir}`.
 * Interpolated strings/numbers are quoted, arrays become quoted word lists,
 * RawShell values are inserted as written.
 */
export function sh(strings: TemplateStringsArray, ...values: unknown[]): string {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    if (v instanceof RawShell) out += v.text;
    else if (Array.isArray(v)) out += shjoin(v as Array<string | number>);
    else if (typeof v === 'string' || typeof v === 'number') out += shq(v);
    else throw new Error(`sh: cannot interpolate a value of type ${typeof v}`);
    out += strings[i + 1] ?? '';
  });
  return out;
}
