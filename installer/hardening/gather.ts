import { PalisadeError } from '../core/errors.ts';
import { shq } from '../core/quote.ts';
import type { RemoteHost } from '../hosts/types.ts';
import { parseHardeningProbe } from './parse.ts';
import { hardeningProbe } from './probe.ts';
import type { HostState } from './types.ts';

/** A host's hardening state in one SSH round trip (the probe runs as root through sudo). */
export async function gatherHardeningState(host: RemoteHost, loginUser: string, o: { timeoutMs?: number } = {}): Promise<HostState> {
  const r = await host.exec(`sh -c ${shq(hardeningProbe({ loginUser }))}`, { sudo: true, timeoutMs: o.timeoutMs ?? 300_000 });
  if (!r.stdout.includes('@@@@ end @@@@')) {
    throw new PalisadeError(
      'harden.probe',
      `${host.name}: the hardening probe failed (exit ${r.code})${r.stderr.trim() ? `: ${r.stderr.trim().split('\n').pop()}` : ''}`,
      {
        hint: 'check that the SSH user can run sudo without a prompt and the host has a POSIX /bin/sh',
      },
    );
  }
  return parseHardeningProbe(r.stdout, { host: host.name, loginUser });
}
