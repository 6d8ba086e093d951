import { setTimeout as sleep } from 'node:timers/promises';
import type { ClusterArtifacts, ClusterDriver, ClusterSpec, NodeSpec } from '../cluster/types.ts';
import { errorMessage, PalisadeError } from '../core/errors.ts';
import type { RemoteHost } from '../hosts/types.ts';

/**
 * One host's upgrade, in the order k3s documents: (controllers: every
 * datastore member healthy first) cordon → drain (Pod Disruption Budgets
 * respected, bounded) → new binary and images tarball in place, the previous
 * kept → restart → Ready at the new version → uncordon → health gate. The
 * rollback of one host is the same walk back to the kept binary.
 */
export interface HostStepInput {
  driver: ClusterDriver;
  host: RemoteHost;
  node: NodeSpec;
  spec: ClusterSpec;
  art: ClusterArtifacts;
  /** the version the node must report afterwards */
  version: string;
  /** a controller to ask about the cluster while this host restarts */
  api: () => Promise<RemoteHost>;
  drainTimeoutMs: number;
  forceDrain: boolean;
  readyTimeoutMs: number;
  /** health problems of the whole cluster (API through the FQDN, datastore members, registry) */
  health: () => Promise<string[]>;
  /** how long the gate lets the cluster settle before it calls a problem a failure */
  gateSettleMs?: number;
  signal: AbortSignal;
  progress: (line: string) => void;
}

async function gate(i: RollbackInput, what: string): Promise<void> {
  const deadline = Date.now() + (i.gateSettleMs ?? 60_000);
  let problems = await i.health();
  while (problems.length && Date.now() < deadline) {
    i.progress(`${i.node.name}: ${what}: waiting for ${problems[0]}`);
    await sleep(1000, undefined, { signal: i.signal });
    problems = await i.health();
  }
  if (problems.length) {
    throw new PalisadeError('upgrade.gate', `${i.node.name}: the health gate after ${what} failed: ${problems.join('; ')}`, {
      hint: 'hosts not yet upgraded still run the old version. Fix the cause and run the same command again to continue, or `palisade upgrade rollback` to put the upgraded hosts back on the previous binary',
    });
  }
}

const isController = (n: NodeSpec) => n.role !== 'agent';

export async function upgradeHost(i: HostStepInput): Promise<void> {
  const { driver, host, node } = i;
  if (isController(node)) {
    // quorum: no controller goes down while another datastore member is down
    const down = (await i.health()).filter((p) => /datastore member/.test(p) && !p.startsWith(`${node.name}:`));
    if (down.length)
      throw new PalisadeError('upgrade.quorum', `${node.name}: not upgraded, the datastore is not healthy: ${down.join('; ')}`, {
        hint: 'bring the named controller back first; the upgrade continues when run again',
      });
  }
  const api = isController(node) ? host : await i.api();
  i.progress(`${node.name}: cordon`);
  await driver.cordon(api, node.name, true);
  i.progress(`${node.name}: drain (at most ${Math.round(i.drainTimeoutMs / 1000)} s)`);
  await driver.drain(api, node.name, { timeoutMs: i.drainTimeoutMs, force: i.forceDrain });
  try {
    await afterDrain(i, api);
  } catch (e) {
    if (e instanceof PalisadeError && e.code === 'upgrade.gate') throw e;
    throw new PalisadeError('upgrade.host', `${node.name}: the upgrade to ${i.version} failed: ${errorMessage(e)}`, {
      hint: `hosts not yet upgraded still run the old version. Fix the cause and run the same command again to continue, or \`palisade upgrade rollback\` to put the upgraded hosts back on the previous binary${e instanceof PalisadeError && e.hint ? `\n${e.hint}` : ''}`,
    });
  }
}

/** binary, restart, Ready at the version, uncordon, gate */
async function afterDrain(i: HostStepInput, api: RemoteHost): Promise<void> {
  const { driver, host, node } = i;
  i.progress(`${node.name}: new binary and images in place (the previous kept)`);
  const changed = await driver.swapBinary(host, node, i.spec, i.art);
  const running = await driver.version(host).catch(() => undefined);
  if (changed || running !== i.version || !(await nodeAt(i, await i.api().catch(() => host)))) {
    i.progress(`${node.name}: restart`);
    await driver.restart(host, node);
  }
  i.progress(`${node.name}: waiting until Ready at ${i.version}`);
  await driver.waitReadyAt(host, node, isController(node) ? host : await i.api(), i.version, {
    timeoutMs: i.readyTimeoutMs,
    signal: i.signal,
    onProgress: (l) => i.progress(`${node.name}: ${l}`),
  });
  await driver.cordon(isController(node) ? host : await i.api(), node.name, false);
  i.progress(`${node.name}: health gate`);
  await gate(i, `upgrading ${node.name}`);
}

async function nodeAt(i: HostStepInput, api: RemoteHost): Promise<boolean> {
  const n = await i.driver.get(api, 'node', i.node.name).catch(() => undefined);
  return (n?.status as { nodeInfo?: { kubeletVersion?: string } } | undefined)?.nodeInfo?.kubeletVersion === i.version;
}

/** Back to the kept binary: restart, Ready at `version` (the one before), uncordon, the same gate. */
export type RollbackInput = Omit<HostStepInput, 'spec' | 'art' | 'drainTimeoutMs' | 'forceDrain'>;

export async function rollbackHost(i: RollbackInput): Promise<void> {
  const { driver, host, node } = i;
  const api = isController(node) ? host : await i.api().catch(() => host);
  await driver.cordon(api, node.name, true).catch(() => undefined);
  // a host the upgrade stopped on before its binary was swapped only needs its cordon lifted
  if ((await driver.version(host).catch(() => undefined)) !== i.version) {
    if (!(await driver.restoreBinary(host, node))) {
      throw new PalisadeError('upgrade.rollback', `${node.name}: no previous binary was kept on the host`, {
        hint: 'restore the cluster from the pre-upgrade backup with `palisade restore`',
      });
    }
    i.progress(`${node.name}: previous binary back in place; restart`);
    await driver.restart(host, node);
  }
  await driver.waitReadyAt(host, node, isController(node) ? host : await i.api(), i.version, {
    timeoutMs: i.readyTimeoutMs,
    signal: i.signal,
    onProgress: (l) => i.progress(`${node.name}: ${l}`),
  });
  await driver.cordon(isController(node) ? host : await i.api(), node.name, false);
  await gate(i, `rolling ${node.name} back`);
}
