import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT } from '../bundle/build-test-bundle.ts';

/** Shared by the seeding and verify benchmarks: timing of whole commands and peak RSS of palisade runs. */
export interface Timed {
  seconds: number;
  code: number;
  stderr: string;
  /** peak resident set of the palisade process, bytes (palisade runs only) */
  maxRss?: number;
  stdout: string;
}

export const PALISADE = join(REPO_ROOT, 'installer/bin/palisade.js');

/** Run a command, time it; with `rssFile`, a preload in the palisade process writes its peak RSS there at exit. */
export async function timed(cmd: string, args: string[], o: { env?: NodeJS.ProcessEnv; cwd?: string; rssFile?: string } = {}): Promise<Timed> {
  const started = process.hrtime.bigint();
  const child = spawn(cmd, args, { env: { ...process.env, ...(o.env ?? {}) }, cwd: o.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stdout.on('data', (c: Buffer) => {
    if (stdout.length < 1 << 20) stdout += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
    if (stderr.length > 20000) stderr = stderr.slice(-20000);
  });
  const code = await new Promise<number>((r) => child.once('exit', (c) => r(c ?? 1)));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const maxRss = o.rssFile ? Number((await readFile(o.rssFile, 'utf8').catch(() => '0')).trim()) : undefined;
  return { seconds, code, stderr, stdout, ...(maxRss !== undefined ? { maxRss } : {}) };
}

/** `node --import <preload> palisade.js ...`: the preload records process.resourceUsage().maxRSS (KiB) at exit. */
export async function palisadeArgs(workDir: string, args: string[]): Promise<{ args: string[]; rssFile: string }> {
  await mkdir(workDir, { recursive: true });
  const preload = join(workDir, 'rss-preload.mjs');
  const rssFile = join(workDir, `rss-${Date.now()}-${Math.random().toString(36).slice(2)}.txt`);
  await writeFile(preload, "import { writeFileSync } from 'node:fs';\nprocess.on('exit', () => { if (process.env.PALISADE_BENCH_RSS) writeFileSync(process.env.PALISADE_BENCH_RSS, String(process.resourceUsage().maxRSS * 1024)); });\n");
  process.env.PALISADE_BENCH_RSS = rssFile;
  return { args: ['--import', preload, PALISADE, ...args], rssFile };
}

export function must(t: Timed, what: string): Timed {
  if (t.code !== 0) throw new Error(`${what} failed (exit ${t.code}):\n${t.stderr.slice(-3000)}`);
  return t;
}

export const MiB = 1 << 20;
export const fmt = (n: number, d = 2): string => n.toFixed(d);

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}
