/**
 * The lab's services, in their own namespace on the bridge (the datacenter's side of the air gap):
 * two Tang servers (tangd behind socat) and an NTP server (chronyd from the host image, serving
 * this machine's clock; no clock control).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { advertisementSigningKeys, jwkThumbprint } from '../../installer/encryption/jwk.ts';
import { startMachine } from './machines.ts';
import type { Net } from './slots.ts';
import type { StateRecorder } from './state.ts';
import { LabError, procStart, sh, sleep, startDetached } from './sys.ts';
import type { LabTang } from './types.ts';

const TANG_PORTS = [7500, 7501];

/** Two Tang servers, each with its own key database in `svcDir`. */
export async function startTang(rec: StateRecorder, n: Net, svcNs: string, svcDir: string): Promise<void> {
  for (const [i, port] of TANG_PORTS.entries()) {
    const db = join(svcDir, `tang${i}`);
    mkdirSync(db, { recursive: true });
    await sh`/usr/libexec/tangd-keygen ${db}`;
    const pid = startDetached(
      ['ip', 'netns', 'exec', svcNs, 'socat', `TCP-LISTEN:${port},bind=${n.services},fork,reuseaddr`, `EXEC:/usr/libexec/tangd ${db}`],
      join(svcDir, `tang${i}.log`),
    );
    rec.add({ kind: 'process', what: `tang${i}`, pid, start: procStart(pid) ?? '' });
  }
}

/** chronyd in a machine of its own (the host image, read-only) in the services namespace. */
export function startNtp(rec: StateRecorder, n: Net, svcNs: string, svcDir: string, rootfs: string): void {
  const conf = join(svcDir, 'chrony.conf');
  writeFileSync(
    conf,
    `# lab NTP server: serves this machine's clock\nbindaddress ${n.services}\nallow 10.231.0.0/24\nlocal stratum 8\ncmdport 0\ndriftfile /var/lib/chrony/drift\npidfile /run/chrony/chronyd.pid\n`,
  );
  const machine = n.ns('ntp');
  // biome-ignore format: nspawn's options, then the command it runs
  const args = [
    '--register=no', '--keep-unit', '--quiet', `--machine=${machine}`, `--directory=${rootfs}`, '--volatile=overlay',
    `--network-namespace-path=/run/netns/${svcNs}`, `--bind-ro=${conf}:/etc/chrony/lab-server.conf`,
    '--console=pipe', '--resolv-conf=off', '--link-journal=no', '--timezone=off',
    '/usr/sbin/chronyd', '-d', '-x', '-f', '/etc/chrony/lab-server.conf',
  ];
  startMachine(rec, machine, 'ntp', args, join(svcDir, 'ntp.log'));
}

/** Each Tang server's URL and the thumbprint of the signing key it advertises (as tang-show-keys prints it). */
export function tangThumbprints(n: Net): Promise<LabTang[]> {
  return Promise.all(
    TANG_PORTS.map(async (port) => {
      const url = `http://${n.services}:${port}`;
      const adv = await fetchRetry(`${url}/adv`, 10_000);
      const keys = advertisementSigningKeys(adv);
      if (!keys.length) throw new LabError(`Tang at ${url} advertises no signing key`);
      return { url, thumbprint: jwkThumbprint(keys[0]!) };
    }),
  );
}

async function fetchRetry(url: string, ms: number): Promise<string> {
  const until = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (r.ok) return await r.text();
      last = new Error(`HTTP ${r.status}`);
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw new LabError(`${url} did not answer: ${String((last as Error)?.message ?? last)}`);
    await sleep(100);
  }
}
