/**
 * The one bench harness. A bench file only says what its two contenders are; the harness
 * runs them in alternating order every round (palisade first in even rounds, the peer first
 * in odd ones), records the load average before and after each round, takes the median of
 * each side and the median of the per-round ratios (not the ratio of medians), and prints
 * the machine, the load, the command, the peer, the ratio and the aim. `--help` on every
 * bench prints its usage and exits before anything runs.
 *
 * The benches' shell steps use zx; `runCommand` alone spawns with node:child_process: zx starts
 * every command through bash (`bash -c`, with its `set -euo pipefail` prefix), whose start-up
 * (a few ms) would sit inside every timing and weigh most on the start-up benches (~40 ms per
 * run of bare node), and GNU time has to be the process's direct parent to report its peak RSS.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { REPO_ROOT } from '../bundle/build-test-bundle.ts';

/** The compiled entry of this checkout, as an operator runs it from a checkout. */
export const PALISADE = join(REPO_ROOT, 'installer/bin/palisade.js');

export const MiB = 1 << 20;
export const fmt = (n: number, d = 2): string => (Number.isFinite(n) ? n.toFixed(d) : String(n));

/** The median; for an even count, the mean of the two middle values. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  at: string;
}

export const machine = (): Machine => ({
  cpu: cpus()[0]?.model.trim() ?? 'unknown',
  cores: cpus().length,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  kernel: release(),
  node: process.version,
  at: new Date().toISOString(),
});

const load1 = (): number => Number((loadavg()[0] ?? 0).toFixed(2));

/** One measured run of a contender: wall seconds, plus anything else it reports (work seconds, RSS...). */
export interface Sample {
  seconds: number;
  extra?: Record<string, number>;
}

export interface Contender {
  /** what runs, as an operator would type it */
  label: string;
  run(round: number): Promise<Sample>;
}

export interface Comparison {
  title: string;
  /** both sides are whole commands (processes), or both run in one process */
  kind: 'whole command vs whole command' | 'in-process vs in-process';
  palisade: Contender;
  peer: Contender;
  /** aim on the median of per-round ratios palisade / peer */
  aim?: { max?: number; min?: number };
  /** run before each round, outside the timing (fresh registries, cache warm-up) */
  before?: (round: number) => Promise<void>;
  after?: (round: number) => Promise<void>;
}

export interface RoundResult {
  round: number;
  first: 'palisade' | 'peer';
  palisade: Sample;
  peer: Sample;
  ratio: number;
  loadBefore: number;
  loadAfter: number;
}

export interface ComparisonResult {
  title: string;
  kind: Comparison['kind'];
  palisade: string;
  peer: string;
  palisadeSeconds: number;
  peerSeconds: number;
  /** median of the per-round ratios */
  ratio: number;
  aim?: Comparison['aim'];
  aimMet?: boolean;
  load: { min: number; max: number };
  extra: Record<string, number>;
  rounds: RoundResult[];
}

export async function compare(c: Comparison, rounds: number): Promise<ComparisonResult> {
  const out: RoundResult[] = [];
  for (let round = 0; round < rounds; round++) {
    await c.before?.(round);
    const loadBefore = load1();
    const first = round % 2 === 0 ? 'palisade' : 'peer';
    let p: Sample;
    let q: Sample;
    if (first === 'palisade') {
      p = await c.palisade.run(round);
      q = await c.peer.run(round);
    } else {
      q = await c.peer.run(round);
      p = await c.palisade.run(round);
    }
    const loadAfter = load1();
    await c.after?.(round);
    const r: RoundResult = { round, first, palisade: p, peer: q, ratio: p.seconds / q.seconds, loadBefore, loadAfter };
    out.push(r);
    process.stderr.write(
      `  ${c.title}, round ${round + 1}/${rounds} (${first} first): palisade ${fmt(p.seconds, 3)} s, peer ${fmt(q.seconds, 3)} s, ratio ${fmt(r.ratio, 3)}, load ${loadBefore} -> ${loadAfter}\n`,
    );
  }
  const ratio = median(out.map((r) => r.ratio));
  const extraKeys = new Set(
    out.flatMap((r) =>
      Object.keys(r.palisade.extra ?? {})
        .map((k) => `palisade.${k}`)
        .concat(Object.keys(r.peer.extra ?? {}).map((k) => `peer.${k}`)),
    ),
  );
  const extra: Record<string, number> = {};
  for (const k of extraKeys) {
    const [side, name] = k.split('.') as ['palisade' | 'peer', string];
    extra[k] = median(out.map((r) => r[side].extra?.[name]).filter((v): v is number => typeof v === 'number'));
  }
  const loads = out.flatMap((r) => [r.loadBefore, r.loadAfter]);
  const aimMet = c.aim ? (c.aim.max === undefined || ratio <= c.aim.max) && (c.aim.min === undefined || ratio >= c.aim.min) : undefined;
  return {
    title: c.title,
    kind: c.kind,
    palisade: c.palisade.label,
    peer: c.peer.label,
    palisadeSeconds: median(out.map((r) => r.palisade.seconds)),
    peerSeconds: median(out.map((r) => r.peer.seconds)),
    ratio,
    ...(c.aim ? { aim: c.aim, aimMet } : {}),
    load: { min: Math.min(...loads), max: Math.max(...loads) },
    extra,
    rounds: out,
  };
}

const aimText = (a?: Comparison['aim']): string =>
  !a ? '' : [a.max !== undefined ? `≤ ${a.max}` : '', a.min !== undefined ? `≥ ${a.min}` : ''].filter(Boolean).join(' and ');

/** A table cell: a `|` in a command would end the cell. */
const cell = (s: string): string => s.replace(/\|/g, '\\|');

/** Print a Markdown table of the comparisons (what BENCHMARKS.md holds) and write the JSON. */
export async function report(name: string, results: readonly ComparisonResult[], notes: Record<string, string | number> = {}, json?: string): Promise<void> {
  const m = machine();
  const loads = results.flatMap((r) => [r.load.min, r.load.max]);
  const first = results[0]?.rounds[0]?.loadBefore ?? Number.NaN;
  const last = results.at(-1)?.rounds.at(-1)?.loadAfter ?? Number.NaN;
  const command = ['node --import tsx', relative(REPO_ROOT, process.argv[1] ?? ''), ...process.argv.slice(2)].join(' ');
  const lines = [
    '',
    `## ${name}`,
    '',
    `Command: \`${command}\``,
    '',
    `Machine: ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, Linux ${m.kernel}, Node ${m.node}; ${m.at}; commands run without NODE_EXTRA_CA_CERTS. Load average (1 min): ${fmt(first, 2)} before the first round, ${fmt(last, 2)} after the last, ${fmt(Math.min(...loads), 1)}–${fmt(Math.max(...loads), 1)} during the rounds.`,
    '',
    '| measure | palisade | peer | kind | palisade s | peer s | ratio (median of rounds) | rounds | aim |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...results.map(
      (r) =>
        `| ${cell(r.title)} | \`${cell(r.palisade)}\` | \`${cell(r.peer)}\` | ${r.kind} | ${fmt(r.palisadeSeconds, 3)} | ${fmt(r.peerSeconds, 3)} | **${fmt(r.ratio, 3)}** | ${r.rounds.map((x) => fmt(x.ratio, 2)).join(', ')} | ${aimText(r.aim)}${r.aimMet === undefined ? '' : r.aimMet ? ' ✓' : ' ✗'} |`,
    ),
  ];
  for (const r of results) for (const [k, v] of Object.entries(r.extra)) lines.push(`- ${r.title}: ${k} median ${fmt(v, 3)}`);
  for (const [k, v] of Object.entries(notes)) lines.push(`- ${k}: ${typeof v === 'number' ? fmt(v, 3) : v}`);
  process.stdout.write(lines.join('\n') + '\n');
  if (json) await writeFile(json, JSON.stringify({ name, machine: m, results, notes }, null, 2) + '\n');
}

/**
 * Parse a bench's options; `--help` prints the usage and exits 0 before anything runs.
 * Every bench takes --rounds and --json.
 */
export function benchArgs<O extends NonNullable<ParseArgsConfig['options']>>(usage: string, options: O, defaultRounds = 3) {
  const all = {
    ...options,
    rounds: { type: 'string', default: String(defaultRounds) },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  } as const;
  const { values } = parseArgs({ options: all as NonNullable<ParseArgsConfig['options']>, allowPositionals: false }) as {
    values: Record<string, string | boolean | undefined>;
  };
  if (values.help === true) {
    process.stdout.write(
      `${usage.trim()}\n\n  --rounds N    rounds (default ${defaultRounds}); order alternates every round, the ratio is the median of per-round ratios\n  --json FILE   also write the results as JSON\n  --help        this text (runs nothing)\n`,
    );
    process.exit(0);
  }
  return values as { [K in keyof O]: O[K] extends { type: 'boolean' } ? boolean : string } & { rounds: string; json?: string };
}

export interface RunResult extends Sample {
  code: number;
  stdout: string;
  stderr: string;
  /** peak RSS (bytes) and CPU seconds of the command, from GNU time */
  maxRss: number;
  cpuSeconds: number;
}

/**
 * The environment every timed command gets, palisade and peer alike: ours without
 * NODE_EXTRA_CA_CERTS, which makes every Node start (and no peer's) read and parse a CA
 * bundle, tens of ms; an air-gapped jump host has no use for it.
 */
const benchEnvironment = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => {
  const { NODE_EXTRA_CA_CERTS: _dropped, ...env } = process.env;
  return { ...env, ...extra };
};

/** Run a whole command (through `sh -c` when given a string), timed from spawn to exit, with peak RSS and CPU time. */
export async function runCommand(cmd: string | string[], o: { env?: NodeJS.ProcessEnv; cwd?: string; check?: boolean } = {}): Promise<RunResult> {
  const dir = await mkdtemp(join(tmpdir(), 'palisade-bench-run-'));
  const timeFile = join(dir, 'time');
  const argv = typeof cmd === 'string' ? ['sh', '-c', cmd] : cmd;
  const started = process.hrtime.bigint();
  const child = spawn('/usr/bin/time', ['-q', '-f', '%M %U %S', '-o', timeFile, ...argv], {
    env: benchEnvironment(o.env),
    cwd: o.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => {
    if (stdout.length < 4 << 20) stdout += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-20000);
  });
  const code = await new Promise<number>((r) => child.once('exit', (c) => r(c ?? 1)));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const [rss, user, sys] = (await readFile(timeFile, 'utf8').catch(() => '0 0 0')).trim().split(/\s+/).slice(-3).map(Number);
  await rm(dir, { recursive: true, force: true });
  const r: RunResult = { seconds, code, stdout, stderr, maxRss: (rss ?? 0) * 1024, cpuSeconds: (user ?? 0) + (sys ?? 0) };
  if ((o.check ?? true) && code !== 0) throw new Error(`${argv.join(' ')} failed (exit ${code}):\n${stderr.slice(-3000)}`);
  return r;
}
