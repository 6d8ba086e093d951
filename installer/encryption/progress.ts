import { type DefaultRenderer, Listr, ListrLogger, ProcessOutput, type SimpleRenderer, type ListrTaskWrapper } from 'listr2';
import { redact } from '../core/log.ts';
import type { ApplyEvent, ApplyReport, HostApplyResult } from './apply.ts';
import type { EncryptionPlan } from './types.ts';

/**
 * Progress of `palisade encryption apply`: a listr2 task per host on a
 * terminal, plain lines (one per step) otherwise. Both write to stderr, so
 * stdout stays clean for `--output json`.
 */
export interface ApplyProgress {
  /** the approved plan: the hosts about to be worked on */
  start(plan: EncryptionPlan): void;
  event(e: ApplyEvent): void;
  /** the run ended (report) or stopped (error); resolves once the display is final */
  finish(report: ApplyReport | undefined, error?: unknown): Promise<void>;
}

/** One step in the operator's words. */
export function describeEvent(e: ApplyEvent): string {
  const d = e.detail ? redact.apply(e.detail) : '';
  switch (e.step) {
    case 'facts':
      return 'disks probed';
    case 'checked':
      return `pins answer: ${d}`;
    case 'escrowed':
      return `recovery key stored in the keystore (${d})`;
    case 'wiped':
      return `wiped: ${d}`;
    case 'formatted':
      return `LUKS2 formatted (uuid ${d})`;
    case 'bound':
      return `bound to ${d}`;
    case 'unbound':
      return `stale binding removed (${d})`;
    case 'crypttab':
      return `/etc/crypttab written (${d})`;
    case 'opened':
      return `opened as ${d}`;
    case 'mounted':
      return `mounted at ${d}`;
    case 'verified':
      return d === 'ok' ? 'verified: pins and recovery key open it' : `verification FAILED: ${d}`;
  }
}

export function eventLine(e: ApplyEvent): string {
  return `${e.host}${e.device ? ` ${e.device}` : ''}: ${describeEvent(e)}`;
}

export function hostSummary(r: HostApplyResult): string {
  if (!r.ok) return `${r.host}: FAILED${r.error ? ` [${r.error.code}] ${redact.apply(r.error.message)}` : ''}`;
  const disks = r.disks.map((d) => `${d.device} ${d.outcome} (${d.state})`).join('; ');
  return `${r.host}: ${disks || 'no disks'} (${(r.durationMs / 1000).toFixed(1)} s)`;
}

/** Plain lines, for logs and pipes. */
export function plainProgress(out: NodeJS.WritableStream = process.stderr): ApplyProgress {
  return {
    start(plan) {
      out.write(`encrypting on ${plan.hosts.length} host(s): ${plan.hosts.map((h) => h.host).join(', ')}\n`);
    },
    event(e) {
      if (e.step === 'facts') return;
      out.write(eventLine(e) + '\n');
    },
    async finish(report) {
      for (const h of report?.hosts ?? []) out.write(hostSummary(h) + '\n');
    },
  };
}

type Wrapper = ListrTaskWrapper<unknown, typeof DefaultRenderer, typeof SimpleRenderer>;

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (e: unknown) => void;
  settled: boolean;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const d: Deferred = { promise, settled: false, resolve: () => undefined, reject: () => undefined };
  d.resolve = () => {
    if (d.settled) return;
    d.settled = true;
    resolve();
  };
  d.reject = (e) => {
    if (d.settled) return;
    d.settled = true;
    reject(e);
  };
  return d;
}

/** A listr2 task per host, running in parallel, each showing its current step. */
export function listrProgress(): ApplyProgress {
  const done = new Map<string, Deferred>();
  const tasks = new Map<string, Wrapper>();
  const pending = new Map<string, string>();
  let running: Promise<unknown> | undefined;
  const show = (host: string, text: string) => {
    const t = tasks.get(host);
    if (t) t.output = text;
    else pending.set(host, text);
  };
  return {
    start(plan) {
      for (const h of plan.hosts) {
        done.set(h.host, deferred());
      }
      const list = new Listr<unknown, 'default', 'simple'>(
        plan.hosts.map((h) => ({
          title: `${h.host}: ${h.disks.map((d) => `${d.device} ${d.action}`).join(', ') || 'no disks'}`,
          task: async (_ctx: unknown, task: Wrapper) => {
            tasks.set(h.host, task);
            const p = pending.get(h.host);
            if (p) task.output = p;
            await done.get(h.host)!.promise;
          },
        })),
        {
          concurrent: true,
          exitOnError: false,
          registerSignalListeners: false,
          renderer: 'default',
          rendererOptions: {
            collapseErrors: false,
            showErrorMessage: true,
            logger: new ListrLogger({ processOutput: new ProcessOutput(process.stderr, process.stderr) }),
          },
        },
      );
      running = list.run().catch(() => undefined);
    },
    event(e) {
      if (e.step === 'facts') return;
      show(e.host, `${e.device ? `${e.device}: ` : ''}${describeEvent(e)}`);
    },
    async finish(report, error) {
      const byHost = new Map((report?.hosts ?? []).map((h) => [h.host, h]));
      for (const [host, d] of done) {
        const r = byHost.get(host);
        const t = tasks.get(host);
        if (r?.ok) {
          if (t) t.title = hostSummary(r);
          d.resolve();
        } else {
          const why = r ? hostSummary(r) : `${host}: stopped: ${redact.apply(error instanceof Error ? error.message : String(error ?? 'unknown error'))}`;
          d.reject(new Error(why));
        }
      }
      await running;
    },
  };
}

/** listr2 on a terminal, plain lines otherwise. */
export function applyProgress(opts: { tty?: boolean } = {}): ApplyProgress {
  // listr2 wraps to stdout's width: a terminal of unknown width gets plain lines
  const tty = opts.tty ?? (process.stderr.isTTY === true && !process.env.CI && (process.stdout.columns ?? 0) >= 40);
  return tty ? listrProgress() : plainProgress();
}
