import type { PalisadeConfig } from '../config/schema.ts';
import type { JournalData } from '../state/journal.ts';
import { estimateHost, scheduleSteps, type Estimate, type Schedule } from './estimate.ts';
import type { UpgradeState } from './state.ts';
import { compareVersions, parseVersion, upgradeProblems, type VersionProblem } from './versions.ts';
import type { Window } from './windows.ts';

/**
 * The upgrade plan from what runs now (read live from the hosts and the
 * cluster) and what the bundle holds: per component current → target, the
 * host order (controllers one at a time, first controller first, then workers
 * in batches), an estimate per host, the windows it lands in, and every reason
 * it may not start. Pure: the caller gathers the live state.
 */
export interface LiveNode {
  name: string;
  role: 'controller' | 'worker';
  /** what the host's binary reports */
  binaryVersion: string | undefined;
  /** what the node reports to the API (kubelet) */
  kubeletVersion: string | undefined;
  ready: boolean;
}

export interface LiveState {
  nodes: LiveNode[];
  /** health problems found (API, datastore members, registry), empty when healthy */
  unhealthy: string[];
  registryVersion: string | undefined;
}

export interface BundleTarget {
  name: string;
  version: string;
  path: string;
  k3s: string | undefined;
  registry: string | undefined;
  images: string[];
  packs: Array<{ name: string; version: string }>;
}

export interface ComponentLine {
  component: 'k3s' | 'registry server' | 'images' | 'packs';
  current: string;
  target: string;
  change: boolean;
}

export interface HostPlan {
  name: string;
  role: 'controller' | 'worker';
  current: string | undefined;
  target: string;
  /** false: already at the target (a resumed run skips it) */
  work: boolean;
  estimate: Estimate;
}

export interface UpgradePlan {
  cluster: string;
  bundle: { name: string; version: string; path: string };
  target: string;
  components: ComponentLine[];
  hosts: HostPlan[];
  /** the steps in order: one controller each, then the workers in batches */
  steps: Array<{ hosts: string[]; estimateMs: number }>;
  totalEstimateMs: number;
  schedule: Schedule;
  windows: Window[];
  /** reasons the upgrade must not start; empty when it may */
  problems: Array<{ code: string; message: string; hint: string }>;
  upToDate: boolean;
}

export interface PlanInput {
  config: PalisadeConfig;
  live: LiveState;
  bundle: BundleTarget;
  state: UpgradeState;
  journal: JournalData | undefined;
  windows: Window[];
  now: number;
  /** the previous bundle's images and packs, when recorded */
  previous?: { images: string[]; packs: Array<{ name: string; version: string }> };
  /** hosts a stopped or killed run was working on: their being down is the upgrade's own doing */
  inProgress?: string[];
}

function componentLines(i: PlanInput): ComponentLine[] {
  const versions = [...new Set(i.live.nodes.map((n) => n.binaryVersion ?? '?'))].join(', ');
  const prevPacks = i.previous ? new Map(i.previous.packs.map((p) => [p.name, p.version])) : undefined;
  const packChanges = i.bundle.packs.filter((p) => prevPacks?.get(p.name) !== p.version);
  const newImages = i.previous ? i.bundle.images.filter((x) => !i.previous!.images.includes(x)) : i.bundle.images;
  return [
    { component: 'k3s', current: versions, target: i.bundle.k3s ?? '?', change: i.live.nodes.some((n) => n.binaryVersion !== i.bundle.k3s) },
    {
      component: 'registry server',
      current: i.live.registryVersion ?? '?',
      target: i.bundle.registry ?? '?',
      change: (i.live.registryVersion ?? '') !== (i.bundle.registry ?? ''),
    },
    {
      component: 'images',
      current: i.previous ? `${i.previous.images.length} image(s)` : 'not recorded',
      target: `${i.bundle.images.length} image(s)${i.previous ? `, ${newImages.length} new` : ''}`,
      change: newImages.length > 0,
    },
    {
      component: 'packs',
      current: i.previous ? i.previous.packs.map((p) => `${p.name} ${p.version}`).join(', ') || 'none' : 'not recorded',
      target: packChanges.length
        ? packChanges.map((p) => `${p.name} ${prevPacks?.get(p.name) ? `${prevPacks.get(p.name)} → ` : ''}${p.version}`).join(', ')
        : 'unchanged',
      change: packChanges.length > 0,
    },
  ];
}

export function buildPlan(i: PlanInput): UpgradePlan {
  const target = i.bundle.k3s ?? '';
  const first = i.config.hosts.find((h) => h.role === 'controller');
  const order = [
    ...(first ? [first] : []),
    ...i.config.hosts.filter((h) => h.role === 'controller' && h !== first),
    ...i.config.hosts.filter((h) => h.role === 'worker'),
  ];
  const hosts: HostPlan[] = order.map((h) => {
    const n = i.live.nodes.find((x) => x.name === h.name);
    const current = n?.binaryVersion;
    const cur = current ? parseVersion(current) : undefined;
    const tgt = parseVersion(target);
    const atTarget = !!cur && !!tgt && compareVersions(cur, tgt) === 0 && n?.kubeletVersion === current;
    return { name: h.name, role: h.role, current, target, work: !atTarget, estimate: estimateHost(h.name, h.role, i.state.history, i.journal) };
  });
  const steps: UpgradePlan['steps'] = [];
  for (const h of hosts.filter((x) => x.work && x.role === 'controller')) steps.push({ hosts: [h.name], estimateMs: h.estimate.ms });
  const workers = hosts.filter((x) => x.work && x.role === 'worker');
  for (let k = 0; k < workers.length; k += i.config.upgrade.workerConcurrency) {
    const batch = workers.slice(k, k + i.config.upgrade.workerConcurrency);
    steps.push({ hosts: batch.map((b) => b.name), estimateMs: Math.max(...batch.map((b) => b.estimate.ms)) });
  }
  const problems: UpgradePlan['problems'] = [];
  if (!i.bundle.k3s)
    problems.push({
      code: 'upgrade.bundle',
      message: `the bundle ${i.bundle.path} has no k3s binary with a version`,
      hint: 'use a bundle built from a release spec that ships k3s with its version',
    });
  else {
    const vp: VersionProblem[] = upgradeProblems(
      i.live.nodes.map((n) => ({ name: n.name, role: n.role, version: n.binaryVersion })),
      target,
    );
    problems.push(...vp.map((p) => ({ code: `upgrade.${p.code}`, message: p.message, hint: p.hint })));
  }
  const unhealthy = i.live.unhealthy.filter((u) => !(i.inProgress ?? []).some((h) => u.startsWith(`${h}:`)));
  if (unhealthy.length)
    problems.push({
      code: 'upgrade.unhealthy',
      message: `the cluster is not healthy: ${unhealthy.join('; ')}`,
      hint: 'fix what is named (`palisade status`), then plan again; an upgrade starts only from a healthy cluster',
    });
  const schedule = scheduleSteps(i.now, steps, i.windows);
  return {
    cluster: i.config.cluster.name,
    bundle: { name: i.bundle.name, version: i.bundle.version, path: i.bundle.path },
    target,
    components: componentLines(i),
    hosts,
    steps,
    totalEstimateMs: steps.reduce((a, s) => a + s.estimateMs, 0),
    schedule,
    windows: i.windows,
    problems,
    upToDate: steps.length === 0,
  };
}
