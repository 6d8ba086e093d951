import { assertBundlePath, bundlePathProblem, comparePaths } from './paths.ts';
import { PalisadeError } from '../core/errors.ts';

export const CHECKSUMS_FILE = 'checksums.txt';
export const MANIFEST_FILE = 'bundle.yaml';
export const SIGNATURE_FILE = 'bundle.sig';
/** Files that checksums.txt does not (and cannot) list: they describe the others. */
export const META_FILES: ReadonlySet<string> = new Set([CHECKSUMS_FILE, MANIFEST_FILE, SIGNATURE_FILE]);

const HEX64 = /^[0-9a-f]{64}$/;

/** `sha256  path` lines (the format `sha256sum -c` reads), sorted by path, one trailing newline. */
export function renderChecksums(entries: ReadonlyMap<string, string>): string {
  const paths = [...entries.keys()].sort(comparePaths);
  return paths
    .map((p) => {
      assertBundlePath(p, CHECKSUMS_FILE);
      if (p.includes('\n')) throw new Error(`path with a newline cannot be listed: ${JSON.stringify(p)}`);
      return `${entries.get(p)}  ${p}\n`;
    })
    .join('');
}

/** Parse checksums.txt strictly: a reordered, duplicated or malformed line is tampering, not a typo. */
export function parseChecksums(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const fail = (line: number, msg: string): never => {
    throw new PalisadeError('bundle.checksums-invalid', `${CHECKSUMS_FILE} line ${line}: ${msg}`, {
      hint: 'checksums.txt is written by `palisade bundle build`; a bundle whose checksums.txt was edited cannot be trusted',
    });
  };
  if (text.length > 0 && !text.endsWith('\n')) fail(text.split('\n').length, 'the file does not end with a newline');
  const lines = text.split('\n');
  lines.pop();
  let prev: string | undefined;
  lines.forEach((line, i) => {
    const n = i + 1;
    const m = /^([0-9a-f]{64}) {2}(.+)$/.exec(line);
    if (!m) {
      fail(n, 'expected "<sha256 hex>  <path>"');
      return;
    }
    const [, hex, path] = m as unknown as [string, string, string];
    if (!HEX64.test(hex)) fail(n, 'bad digest');
    const problem = bundlePathProblem(path);
    if (problem)
      throw new PalisadeError('bundle.path-escape', `${CHECKSUMS_FILE} line ${n}: path ${JSON.stringify(path)} ${problem}`, {
        hint: 'the bundle was crafted to reach outside its directory: do not use it',
      });
    if (META_FILES.has(path)) fail(n, `${path} must not be listed`);
    if (out.has(path)) fail(n, `${path} is listed twice`);
    if (prev !== undefined && comparePaths(prev, path) >= 0) fail(n, `lines are not sorted by path (${path} after ${prev})`);
    out.set(path, hex);
    prev = path;
  });
  return out;
}
