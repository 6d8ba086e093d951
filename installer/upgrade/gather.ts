import { readFile } from 'node:fs/promises';
import type { KeyObject } from 'node:crypto';
import { openBundle, type Bundle } from '../bundle/open.ts';
import { verifyBundle } from '../bundle/verify.ts';
import type { ClusterDriver } from '../cluster/types.ts';
import type { PalisadeConfig } from '../config/schema.ts';
import { PalisadeError } from '../core/errors.ts';
import type { RemoteHost } from '../hosts/types.ts';
import { Journal } from '../state/journal.ts';
import { stateFiles } from '../state/paths.ts';
import { bundleTarget, readLive } from './live.ts';
import { buildPlan, type UpgradePlan } from './plan.ts';
import { readUpgradeState, type UpgradeState } from './state.ts';
import { nextWindows } from './windows.ts';

/**
 * Everything a plan needs, gathered: the verified bundle, the live state of
 * the hosts and the cluster, the journal and the upgrade record. Used by
 * `palisade upgrade plan` and again by every run before it touches a host.
 */
export interface GatherInput {
  config: PalisadeConfig;
  stateDir: string;
  bundlePath: string;
  trustedKey: KeyObject;
  hosts: ReadonlyMap<string, RemoteHost>;
  driver: ClusterDriver;
  now: number;
  /** an already opened and verified bundle */
  bundle?: Bundle;
}

export interface Gathered {
  plan: UpgradePlan;
  bundle: Bundle;
  state: UpgradeState;
}

export const WINDOWS_PLANNED = 30;

/** The images and packs of the bundle that was last put in place (upgrade record, else the install report). */
async function previousComponents(
  stateDir: string,
  state: UpgradeState,
): Promise<{ images: string[]; packs: Array<{ name: string; version: string }> } | undefined> {
  let path = state.current?.status === 'done' ? state.current.bundle.path : undefined;
  if (!path) {
    try {
      path = (JSON.parse(await readFile(stateFiles(stateDir).report, 'utf8')) as { bundle?: { path?: string } }).bundle?.path;
    } catch {
      return undefined;
    }
  }
  if (!path) return undefined;
  const b = await openBundle(path).catch(() => undefined);
  if (!b) return undefined;
  try {
    const t = bundleTarget(b);
    return { images: t.images, packs: t.packs };
  } finally {
    await b.close().catch(() => undefined);
  }
}

export async function gatherPlan(i: GatherInput): Promise<Gathered> {
  let bundle = i.bundle;
  if (!bundle) {
    await verifyBundle(i.bundlePath, i.trustedKey);
    bundle = await openBundle(i.bundlePath);
  }
  const files = stateFiles(i.stateDir);
  const journal = await Journal.read(files.journal);
  if (!journal || journal.phases.cluster?.status !== 'done') {
    throw new PalisadeError('upgrade.not-installed', `"${i.config.cluster.name}" has no finished install in ${files.journal}`, {
      hint: 'install the appliance first (`palisade install`); upgrade works on an installed one',
    });
  }
  const state = await readUpgradeState(i.stateDir);
  const live = await readLive({ config: i.config, hosts: i.hosts, driver: i.driver, kubeconfigPath: files.kubeconfig });
  const target = bundleTarget(bundle);
  const running = state.current && state.current.status !== 'done' && state.current.status !== 'rolled-back' && state.current.target === target.k3s;
  const inProgress = running
    ? Object.entries(state.current!.hosts)
        .filter(([, h]) => h.status === 'running' || h.status === 'failed')
        .map(([n]) => n)
    : [];
  const previous = await previousComponents(i.stateDir, state);
  const plan = buildPlan({
    config: i.config,
    live,
    bundle: target,
    state,
    journal,
    windows: nextWindows(i.config.maintenanceWindows, i.now, WINDOWS_PLANNED),
    now: i.now,
    inProgress,
    ...(previous ? { previous } : {}),
  });
  return { plan, bundle, state };
}
