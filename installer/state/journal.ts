import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../core/atomic.ts';
import { PalisadeError } from '../core/errors.ts';

/**
 * The install journal of one cluster: every phase, and every host of a per-host
 * phase, as pending/running/done/failed with timestamps. Written atomically
 * after each change, so a killed run leaves a journal that says exactly where
 * it stopped ("running" = interrupted there).
 */
export type StepStatus = 'pending' | 'running' | 'done' | 'failed';

export interface StepRecord {
  status: StepStatus;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  error?: string;
  /** free-form note ("up to date", "skipped: host cannot load br_netfilter") */
  note?: string;
}

export interface PhaseRecord extends StepRecord {
  hosts: Record<string, StepRecord>;
}

export interface RunRecord {
  id: string;
  startedAt: string;
  finishedAt?: string;
  status: 'running' | 'done' | 'failed' | 'interrupted';
  command: string;
}

/** The bundle the last finished install ran from, and the key its signature was checked with (public facts only). */
export interface InstalledBundle {
  /** absolute path, as given */
  path: string;
  name: string;
  version: string;
  /** sha256:<hex> of its bundle.yaml: the signed manifest, which pins every file's digest */
  manifestDigest: string;
  /** SHA256:… fingerprint of the trusted key, and the key itself (a public key, PEM) */
  trustedKey: { fingerprint: string; pem: string };
  at: string;
}

export interface JournalData {
  version: 1;
  cluster: string;
  updatedAt: string;
  runs: RunRecord[];
  phases: Record<string, PhaseRecord>;
  installed?: InstalledBundle;
}

const MAX_RUNS = 50;

export function emptyJournal(cluster: string): JournalData {
  return { version: 1, cluster, updatedAt: new Date(0).toISOString(), runs: [], phases: {} };
}

export function parseJournal(text: string, path: string): JournalData {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    throw new PalisadeError('state.journal', `${path} is not valid JSON`, {
      hint: 'move it aside to start the journal afresh (phases still check the hosts before acting)',
    });
  }
  const d = j as Partial<JournalData>;
  if (d?.version !== 1 || typeof d.cluster !== 'string' || typeof d.phases !== 'object' || !Array.isArray(d.runs)) {
    throw new PalisadeError('state.journal', `${path} is not a palisade journal (version 1)`, { hint: 'move it aside to start the journal afresh' });
  }
  return d as JournalData;
}

export class Journal {
  private writing: Promise<void> = Promise.resolve();
  private constructor(
    readonly path: string,
    readonly data: JournalData,
    private readonly now: () => Date,
  ) {}

  static async open(path: string, cluster: string, opts: { now?: () => Date } = {}): Promise<Journal> {
    let data: JournalData;
    try {
      data = parseJournal(await readFile(path, 'utf8'), path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      data = emptyJournal(cluster);
    }
    if (data.cluster !== cluster) throw new PalisadeError('state.journal', `${path} belongs to cluster "${data.cluster}", not "${cluster}"`);
    return new Journal(path, data, opts.now ?? (() => new Date()));
  }

  /** read-only view, for `palisade status` */
  static async read(path: string): Promise<JournalData | undefined> {
    try {
      return parseJournal(await readFile(path, 'utf8'), path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  phase(id: string): PhaseRecord | undefined {
    return this.data.phases[id];
  }

  host(id: string, host: string): StepRecord | undefined {
    return this.data.phases[id]?.hosts[host];
  }

  /** Record a phase (or one host of it) changing status, then write the journal. */
  async mark(phase: string, host: string | undefined, status: StepStatus, extra: { error?: string; note?: string } = {}): Promise<void> {
    const p = (this.data.phases[phase] ??= { status: 'pending', hosts: {} });
    const rec: StepRecord = host === undefined ? p : (p.hosts[host] ??= { status: 'pending' });
    applyStatus(rec, status, this.now(), extra);
    await this.save();
  }

  async startRun(id: string, command: string): Promise<void> {
    this.data.runs.push({ id, startedAt: this.now().toISOString(), status: 'running', command });
    if (this.data.runs.length > MAX_RUNS) this.data.runs.splice(0, this.data.runs.length - MAX_RUNS);
    await this.save();
  }

  async endRun(id: string, status: RunRecord['status']): Promise<void> {
    const r = this.data.runs.find((x) => x.id === id);
    if (r) {
      r.status = status;
      r.finishedAt = this.now().toISOString();
    }
    await this.save();
  }

  async recordInstalled(b: Omit<InstalledBundle, 'at'>): Promise<void> {
    this.data.installed = { ...b, at: this.now().toISOString() };
    await this.save();
  }

  /** Writes are serialised: hosts of one phase finish in parallel. */
  save(): Promise<void> {
    this.data.updatedAt = this.now().toISOString();
    const text = JSON.stringify(this.data, null, 2) + '\n';
    this.writing = this.writing.catch(() => undefined).then(() => writeFileAtomic(this.path, text, { mode: 0o600, mkdirp: true }));
    return this.writing;
  }
}

export function applyStatus(rec: StepRecord, status: StepStatus, now: Date, extra: { error?: string; note?: string } = {}): void {
  const ts = now.toISOString();
  rec.status = status;
  if (status === 'running') {
    rec.startedAt = ts;
    delete rec.finishedAt;
    delete rec.durationMs;
    delete rec.error;
    delete rec.note;
  } else if (status === 'done' || status === 'failed') {
    rec.finishedAt = ts;
    if (rec.startedAt) rec.durationMs = Math.max(0, now.getTime() - Date.parse(rec.startedAt));
  }
  if (extra.error !== undefined) rec.error = extra.error;
  if (extra.note !== undefined) rec.note = extra.note;
}

/** The first phase that is not done, in the given order (where a resumed run picks up). */
export function resumePoint(data: JournalData, order: readonly string[]): string | undefined {
  return order.find((id) => data.phases[id]?.status !== 'done');
}
