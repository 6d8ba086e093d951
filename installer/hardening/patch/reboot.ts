import { setTimeout as sleep } from 'node:timers/promises';
import type { ClusterDriver, NodeSpec } from '../../cluster/types.ts';
import { errorMessage, PalisadeError } from '../../core/errors.ts';
import type { RemoteHost } from '../../hosts/types.ts';
import { runRolling } from '../../upgrade/rolling.ts';
import type { Window } from '../../upgrade/windows.ts';

/**
 * The reboots a patch asked for, as a rolling step of their own: one host at
 * a time, each started only inside a maintenance window it fits in (the
 * upgrade's window rules: outside one the run stops between hosts with exit
 * 75, or waits with waitForWindow), drained first, back Ready and uncordoned
 * after, and the cluster's health gate passed before the next host goes down.
 */
export interface RebootOptions {
  /** hosts to reboot, in order */
  hosts: string[];
  nodes: readonly NodeSpec[];
  /** open connections; a rebooted host's entry is replaced by its new connection */
  connections: Map<string, RemoteHost>;
  /** a new connection to a host (its old one died with the reboot) */
  reconnect(name: string): Promise<RemoteHost>;
  driver: ClusterDriver;
  /** a controller to ask about the cluster while `avoid` is down */
  api(avoid: string): Promise<RemoteHost | undefined>;
  /** the cluster's health problems (API through the FQDN, datastore members, registry) */
  health(): Promise<string[]>;
  windowsFrom(now: number): Window[];
  now(): number;
  ignoreWindow: boolean;
  waitForWindow: boolean;
  signal: AbortSignal;
  drainTimeoutMs: number;
  readyTimeoutMs: number;
  /** what one host's reboot is planned to take in a window (default 10 min) */
  estimateMs?: number;
  /** how long a host may take to come back (default 10 min) */
  upTimeoutMs?: number;
  /** how long the gate lets the cluster settle (default 2 min) */
  settleMs?: number;
  progress(line: string): void;
  /** for tests: how to wait */
  nap?(ms: number, signal: AbortSignal): Promise<void>;
  /** filled host by host (so a run stopped at a window still says what it did) */
  into?: RebootReport;
}

export interface RebootReport {
  rebooted: Array<{ host: string; durationMs: number }>;
}

const BOOT_ID = 'cat /proc/sys/kernel/random/boot_id';
// detached, after a moment: the command returns before sshd goes away
const REBOOT = "nohup sh -c 'sleep 2; systemctl reboot' >/dev/null 2>&1 &";

async function bootId(h: RemoteHost): Promise<string> {
  return (await h.exec(BOOT_ID, { check: true, timeoutMs: 20_000 })).stdout.trim();
}

export async function rebootRolling(o: RebootOptions): Promise<RebootReport> {
  const nap = o.nap ?? ((ms, signal) => sleep(ms, undefined, { signal }));
  const report: RebootReport = o.into ?? { rebooted: [] };
  const rebooted = report.rebooted;
  const gate = async (name: string) => {
    const deadline = o.now() + (o.settleMs ?? 120_000);
    let problems = await o.health();
    while (problems.length && o.now() < deadline) {
      o.progress(`${name}: health gate: waiting for ${problems[0]}`);
      await nap(2000, o.signal);
      problems = await o.health();
    }
    if (problems.length) {
      throw new PalisadeError('patch.gate', `${name}: the health gate after its reboot failed: ${problems.join('; ')}`, {
        hint: 'hosts not yet rebooted were left alone. Fix the cause and run `palisade patch --reboot` again: it reboots only the hosts that still need it',
      });
    }
  };
  const one = async (name: string) => {
    const node = o.nodes.find((n) => n.name === name)!;
    const t0 = o.now();
    if (node.role !== 'agent') {
      // quorum: no controller goes down while another datastore member is down
      const down = (await o.health()).filter((p) => /datastore member/.test(p) && !p.startsWith(`${name}:`));
      if (down.length)
        throw new PalisadeError('patch.quorum', `${name}: not rebooted, the datastore is not healthy: ${down.join('; ')}`, {
          hint: 'bring the named controller back first, then run again',
        });
    }
    const host = o.connections.get(name)!;
    // a host without k3s yet (patched before the install) has no node to drain and no cluster to gate on
    const version = await o.driver.version(host).catch(() => undefined);
    if (version) {
      const api = (await o.api(name)) ?? host;
      o.progress(`${name}: cordon and drain (at most ${Math.round(o.drainTimeoutMs / 1000)} s)`);
      await o.driver.cordon(api, name, true);
      await o.driver.drain(api, name, { timeoutMs: o.drainTimeoutMs });
    }
    const before = await bootId(host);
    o.progress(`${name}: reboot`);
    await host.exec(REBOOT, { sudo: true, timeoutMs: 20_000 });
    await host.close().catch(() => undefined);
    const back = await comeBack(o, name, before, nap);
    o.connections.set(name, back);
    if (version) {
      o.progress(`${name}: back; waiting until Ready`);
      const api = async () => (node.role === 'agent' ? ((await o.api(name)) ?? back) : back);
      await o.driver.waitReadyAt(back, node, await api(), version, { timeoutMs: o.readyTimeoutMs, signal: o.signal });
      await o.driver.cordon(await api(), name, false);
      o.progress(`${name}: health gate`);
      await gate(name);
    } else o.progress(`${name}: back (no cluster on it yet: nothing to drain or gate on)`);
    rebooted.push({ host: name, durationMs: o.now() - t0 });
  };
  await runRolling({
    steps: o.hosts.map((h) => ({ hosts: [h], estimateMs: o.estimateMs ?? 600_000 })),
    windowsFrom: o.windowsFrom,
    now: o.now,
    ignoreWindow: o.ignoreWindow,
    waitForWindow: o.waitForWindow,
    signal: o.signal,
    runStep: (s) => one(s.hosts[0]!),
    sleep: nap,
    keepAlive: async () => {
      await Promise.all([...o.connections.values()].map((h) => h.exec('true', { timeoutMs: 20_000 }).catch(() => undefined)));
    },
  });
  return report;
}

/** Reconnect until the host answers with a new boot id (the old one: it has not gone down yet). */
async function comeBack(o: RebootOptions, name: string, before: string, nap: NonNullable<RebootOptions['nap']>): Promise<RemoteHost> {
  const deadline = o.now() + (o.upTimeoutMs ?? 600_000);
  let last = 'it has not gone down yet';
  while (o.now() < deadline) {
    await nap(3000, o.signal);
    let h: RemoteHost | undefined;
    try {
      h = await o.reconnect(name);
      const id = await bootId(h);
      if (id && id !== before) return h;
    } catch (e) {
      last = errorMessage(e);
    }
    await h?.close().catch(() => undefined);
  }
  throw new PalisadeError('patch.reboot', `${name}: did not come back within ${Math.round((o.upTimeoutMs ?? 600_000) / 1000)} s after its reboot (${last})`, {
    hint: `look at ${name}'s console; the hosts after it were not rebooted. When it is back, run \`palisade patch --reboot\` again`,
  });
}
