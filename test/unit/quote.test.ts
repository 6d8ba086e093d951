import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { raw, sh, shjoin, shq } from '../../installer/core/quote.ts';

// a directory with files, so an unquoted glob would visibly expand
const cwd = mkdtempSync(join(tmpdir(), 'palisade-quote-'));
for (const f of ['a.txt', 'b.txt', '-rf', 'x y']) writeFileSync(join(cwd, f), '');
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

/** What a real POSIX shell sees as the single word `quoted`. */
const throughShell = (line: string): string =>
  execFileSync('sh', ['-c', line], { cwd, encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/root' } });
const roundTrip = (s: string): string => throughShell(`printf '%s' ${shq(s)}`);

const hostile = [
  '',
  ' ',
  'plain',
  "it's",
  "''",
  "'\\''",
  '"double"',
  '$(id)',
  '`id`',
  '$HOME',
  '${IFS}',
  '$((1+1))',
  '*',
  '*.txt',
  '?.txt',
  '[ab].txt',
  '~',
  '~root',
  'a\nb',
  '\n',
  'line1\r\nline2',
  'tab\there',
  'back\\slash\\',
  'semi;colon && and || or | pipe > out < in & bg',
  '!event',
  '#comment',
  '-n',
  '-e \\n',
  '--',
  '%s%d%%',
  '\u0001\u0007\u001b[31m',
  'unicode: héllo wörld — 日本語 🔐 עברית',
  'combining: e\u0301 and zero\u200bwidth',
  'mix \'single\' "double" `back` $(sub) ${var} * ? [x] \\ \n end',
  'x'.repeat(10_000),
];

describe('shq: hostile strings reach a real sh unchanged', () => {
  it.each(hostile.map((s) => [JSON.stringify(s).slice(0, 60), s]))('%s', (_label, s) => {
    expect(roundTrip(s)).toBe(s);
  });

  it('quoted twice (as `sudo sh -c <quoted>` does) still arrives unchanged', () => {
    for (const s of hostile) {
      const inner = `printf '%s' ${shq(s)}`;
      expect(throughShell(`sh -c ${shq(inner)}`)).toBe(s);
    }
  });

  it('random strings over a hostile alphabet round-trip', () => {
    const alphabet = [...'\'"`$(){}[]*?~!#;&|<>\\ \t\n\r-=%^.,/:@+aZ9é🔐', '\u0001'];
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const strings = Array.from({ length: 200 }, () => Array.from({ length: 1 + rand(24) }, () => alphabet[rand(alphabet.length)]).join(''));
    // one shell run: each string printed NUL-terminated
    const out = throughShell(strings.map((s) => `printf '%s\\0' ${shq(s)}`).join('; '));
    expect(out.split('\0').slice(0, -1)).toEqual(strings);
  });

  it('refuses a NUL byte (a shell cannot carry it)', () => {
    expect(() => shq('a\0b')).toThrow(/NUL/);
  });

  it('leaves safe words bare and always yields one word', () => {
    expect(shq('/etc/palisade/config.yaml')).toBe('/etc/palisade/config.yaml');
    expect(shq(0o644)).toBe('420');
    expect(throughShell(`set -- ${shq('a b  c')}; echo $#`).trim()).toBe('1');
    expect(throughShell(`set -- ${shq('')}; echo $#`).trim()).toBe('1');
  });
});

describe('sh template', () => {
  it('quotes every interpolation; arrays become separate words; raw stays raw', () => {
    const files = ['x y', '*.txt', "it's"];
    const line = sh`for f in ${files}; do printf '[%s]' "$f"; done ${raw('&& echo')} ${'$(id)'}`;
    expect(throughShell(line)).toBe("[x y][*.txt][it's]$(id)\n");
  });

  it('shjoin keeps each argument one word', () => {
    const args = ['-rf', '*', 'a b', ''];
    expect(throughShell(`set -- ${shjoin(args)}; echo $#; printf '<%s>' "$@"`)).toBe('4\n<-rf><*><a b><>');
  });

  it('refuses values it cannot quote', () => {
    expect(() => sh`echo ${{} as unknown as string}`).toThrow(/cannot interpolate/);
    expect(() => sh`echo ${undefined as unknown as string}`).toThrow(/cannot interpolate/);
  });
});
