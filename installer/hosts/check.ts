import type { LoadedConfig } from '../config/load.ts';
import { PalisadeError } from '../core/errors.ts';
import { settleLimit } from '../core/limit.ts';
import { renderTable } from '../core/output.ts';
import { closeAll, connectHosts } from './index.ts';

export interface HostCheck {
  host: string;
  address: string;
  port: number;
  user: string;
  ok: boolean;
  /** connect + authenticate, ms */
  connectMs?: number;
  /** round trip of a trivial command (through sudo for a non-root user), ms */
  latencyMs?: number;
  error?: { code: string; message: string; hint?: string };
}

const errorOf = (e: unknown) =>
  e instanceof PalisadeError
    ? { code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) }
    : { code: 'internal', message: String((e as Error)?.message ?? e) };

/** `palisade hosts check`: connect to every host, run a trivial command, time it. */
export async function checkHosts(loaded: LoadedConfig): Promise<HostCheck[]> {
  const { config, baseDir } = loaded;
  const t0 = performance.now();
  const { hosts, failures } = await connectHosts(config, baseDir);
  const connectMs = Math.round(performance.now() - t0);
  try {
    const results = await settleLimit(config.hosts, config.ssh.concurrency, async (h): Promise<HostCheck> => {
      const base = { host: h.name, address: h.address, port: h.port, user: h.user };
      const failed = failures.find((f) => f.name === h.name);
      if (failed) return { ...base, ok: false, error: errorOf(failed.error) };
      const remote = hosts.get(h.name)!;
      const start = performance.now();
      try {
        await remote.exec('true', { sudo: true, check: true, timeoutMs: 30_000 });
        return { ...base, ok: true, connectMs, latencyMs: Math.round((performance.now() - start) * 10) / 10 };
      } catch (e) {
        return { ...base, ok: false, error: errorOf(e) };
      }
    });
    return results.map((r) => (r.status === 'fulfilled' ? r.value : { host: '?', address: '', port: 0, user: '', ok: false, error: errorOf(r.reason) }));
  } finally {
    await closeAll(hosts);
  }
}

export function renderChecks(checks: readonly HostCheck[]): string {
  const table = renderTable(
    ['HOST', 'ADDRESS', 'USER', 'STATUS', 'LATENCY', 'ERROR'],
    checks.map((c) => [
      c.host,
      `${c.address}:${c.port}`,
      c.user,
      c.ok ? 'ok' : 'FAIL',
      c.latencyMs !== undefined ? `${c.latencyMs} ms` : '',
      c.error ? `[${c.error.code}] ${c.error.message.split('\n')[0]}` : '',
    ]),
  );
  const hints = checks.filter((c) => c.error?.hint).map((c) => `${c.host}: ${c.error!.hint}`);
  return hints.length ? `${table}\n\n${hints.join('\n')}` : table;
}
