import type { RemoteHost } from '../hosts/types.ts';
import { PalisadeError } from '../core/errors.ts';
import { log } from '../core/log.ts';
import { sh } from '../core/quote.ts';
import { parseProbeOutput } from './parse.ts';
import { probeScript } from './probe.ts';
import type { HostFacts } from './types.ts';

export type { HostFacts } from './types.ts';
export { localFacts } from './local.ts';
export { summarizeFacts } from './summary.ts';

export interface GatherOptions {
  fqdn: string;
  dataDisk?: string;
  /** the fdatasync probe (default on) */
  diskLatency?: boolean;
  timeoutMs?: number;
}

/**
 * Facts of one remote host in ONE round trip: the probe script runs through
 * sudo and its sectioned output is parsed. The host's clock is the first thing
 * the script prints, so it lies between the moment the command was sent and
 * the arrival of the first output bytes: that bracket bounds the clock skew.
 */
export async function gatherFacts(host: RemoteHost, opts: GatherOptions): Promise<HostFacts> {
  const script = probeScript({
    fqdn: opts.fqdn,
    ...(opts.dataDisk ? { dataDisk: opts.dataDisk } : {}),
    ...(opts.diskLatency === false ? { diskLatency: false } : {}),
  });
  let receivedAtMs: number | undefined;
  const sentAtMs = Date.now();
  // through /bin/sh whatever the login shell is (sudo already wraps in sh -c; root's shell may be anything)
  const r = await host.exec(sh`sh -c ${script}`, {
    sudo: true,
    timeoutMs: opts.timeoutMs ?? 60_000,
    onStdout: () => {
      receivedAtMs ??= Date.now();
    },
  });
  receivedAtMs ??= Date.now();
  log.debug(`${host.name}: facts probe exit ${r.code}, ${r.stdout.length} bytes in ${Date.now() - sentAtMs} ms`);
  if (!r.stdout.includes('==== end ====')) {
    throw new PalisadeError(
      'facts.probe',
      `${host.name}: the facts probe failed (exit ${r.code})${r.stderr.trim() ? `: ${r.stderr.trim().split('\n').pop()}` : ''}`,
      {
        hint: 'check that the SSH user can run sudo without a prompt and the host has a POSIX /bin/sh',
      },
    );
  }
  const facts = parseProbeOutput(r.stdout, {
    name: host.name,
    address: host.address,
    fqdn: opts.fqdn,
    ...(opts.dataDisk ? { dataDisk: opts.dataDisk } : {}),
    sentAtMs,
    receivedAtMs,
  });
  if (opts.diskLatency === false) facts.notes.push('disk latency: skipped (--no-disk-probe)');
  return facts;
}
