import { k3sDriver } from '../../cluster/k3s.ts';
import type { ClusterDriver } from '../../cluster/types.ts';
import type { PalisadeConfig } from '../../config/schema.ts';
import { topology } from '../../config/topology.ts';
import { PalisadeError } from '../../core/errors.ts';
import { configConnectOptions, configTargets, connectHost } from '../../hosts/index.ts';
import type { RemoteHost } from '../../hosts/types.ts';
import { stateDir, stateFiles } from '../../state/paths.ts';
import { apiHostOf, healthProblems } from '../../upgrade/live.ts';
import { parseDrainTimeout } from '../../upgrade/rolling.ts';
import { nextWindows } from '../../upgrade/windows.ts';
import { rebootRolling, type RebootReport } from './reboot.ts';

/** `palisade patch --reboot`: the pending reboots on the appliance's connections, windows and health checks. */
export interface PatchRebootOptions {
  config: PalisadeConfig;
  baseDir: string;
  /** open connections (patch's); rebooted hosts' entries are replaced */
  hosts: Map<string, RemoteHost>;
  need: string[];
  ignoreWindow: boolean;
  waitForWindow: boolean;
  signal: AbortSignal;
  driver?: ClusterDriver;
  now?: () => number;
  progress(line: string): void;
  into?: RebootReport;
}

export async function rebootAfterPatch(o: PatchRebootOptions): Promise<RebootReport> {
  if (o.need.length === 0) return { rebooted: [] };
  if (!o.ignoreWindow && o.config.maintenanceWindows.length === 0) {
    throw new PalisadeError(
      'patch.no-window',
      `reboot needed on ${o.need.join(', ')}, but palisade.yaml has no maintenance window and reboots happen only inside one`,
      {
        hint: 'add maintenanceWindows to palisade.yaml, or reboot now with --ignore-window --yes (recorded as an emergency)',
      },
    );
  }
  const targets = new Map(configTargets(o.config, o.baseDir).map((t) => [t.name, t]));
  const connectOpts = await configConnectOptions(o.config, o.baseDir);
  const driver = o.driver ?? k3sDriver;
  const live = { config: o.config, hosts: o.hosts, driver, kubeconfigPath: stateFiles(stateDir(o.baseDir, o.config.cluster.name)).kubeconfig };
  // config order: controllers as listed, then workers
  const order = o.config.hosts.map((h) => h.name).filter((n) => o.need.includes(n));
  return rebootRolling({
    hosts: order,
    nodes: topology(o.config).nodes,
    connections: o.hosts,
    reconnect: (n) => connectHost(targets.get(n)!, { ...connectOpts, attempts: 1 }),
    driver,
    api: (avoid) => apiHostOf(live, [avoid]),
    health: () => healthProblems(live),
    windowsFrom: (now) => nextWindows(o.config.maintenanceWindows, now, 30),
    now: o.now ?? Date.now,
    ignoreWindow: o.ignoreWindow,
    waitForWindow: o.waitForWindow,
    signal: o.signal,
    drainTimeoutMs: parseDrainTimeout(o.config.upgrade.drainTimeout),
    readyTimeoutMs: Number(process.env.PALISADE_CLUSTER_TIMEOUT_MS ?? 300_000),
    progress: o.progress,
    ...(o.into ? { into: o.into } : {}),
  });
}
