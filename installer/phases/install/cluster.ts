import { stat } from 'node:fs/promises';
import type { TopologyNode } from '../../config/topology.ts';
import { writeFileAtomic } from '../../core/atomic.ts';
import { PalisadeError, errorMessage } from '../../core/errors.ts';
import { settleLimit } from '../../core/limit.ts';
import { stateFiles } from '../../state/paths.ts';
import type { Outputs, Phase } from '../types.ts';
import type { InstallContext } from './context.ts';
import { apiHost, artifactsOf, specFor } from './shared/cluster.ts';
import { hostOf } from './shared/hosts.ts';

/**
 * Bootstrap the management cluster: the cluster files on every node at once
 * (the binary is the big upload), then the first controller, the other
 * controllers one at a time (etcd quorum), the workers together; then the
 * admin kubeconfig, pointed at the FQDN.
 */
async function clusterWork(ctx: InstallContext, outputs: Outputs): Promise<string[]> {
  const art = await artifactsOf(outputs);
  const api = apiHost(ctx, outputs);
  const out: string[] = [];
  const checks = await settleLimit(ctx.topology.nodes, ctx.config.ssh.concurrency, async (n) => ({
    n,
    c: await ctx.driver.check(hostOf(outputs, n.name), n, await specFor(ctx, outputs, n.name), art, api),
  }));
  for (const r of checks) {
    if (r.status === 'rejected') throw r.reason;
    const { n, c } = r.value;
    if (c.changed.length) out.push(`${n.name}: ${c.changed.length} file(s) to write (${c.changed.join(', ')})`);
    else if (!c.active) out.push(`${n.name}: service not running`);
    else if (!c.ready) out.push(`${n.name}: not ready`);
  }
  try {
    await stat(stateFiles(ctx.stateDir).kubeconfig);
  } catch {
    out.push('kubeconfig not fetched yet');
  }
  return out;
}

const START: Record<TopologyNode['role'], string> = {
  first: 'start the cluster on it (first controller)',
  server: 'join it as a controller',
  agent: 'join it as a worker',
};

/** Several failures as one error naming each host; one failure as itself. */
function failedOn(what: string, failed: Array<{ name: string; error: unknown }>): unknown {
  if (failed.length === 1) return failed[0]!.error;
  return new PalisadeError('install.cluster', `${what} on ${failed.length} host(s)`, {
    details: failed.map((f) => ({ path: f.name, message: errorMessage(f.error) })),
  });
}

export const clusterPhase: Phase<InstallContext> = {
  id: 'cluster',
  title: 'Bootstrap the management cluster (first controller, other controllers, workers)',
  shouldRun: async (ctx, i) => (await clusterWork(ctx, i.outputs)).length > 0,
  async run(ctx, task) {
    const { outputs } = task;
    const art = await artifactsOf(outputs);
    const nodes = ctx.topology.nodes;
    const api = apiHost(ctx, outputs);
    const driver = ctx.driver;
    const one = (n: TopologyNode) =>
      task.forHost(n.name, async () => {
        const h = hostOf(outputs, n.name);
        const spec = await specFor(ctx, outputs, n.name);
        const o = { timeoutMs: ctx.clusterTimeoutMs, signal: task.signal, onProgress: (l: string) => task.output(`${n.name}: ${l}`) };
        await task.change(n.name, START[n.role], () =>
          n.role === 'first'
            ? driver.initFirstServer(h, n, spec, art, o)
            : n.role === 'server'
              ? driver.joinServer(h, n, spec, art, api, o)
              : driver.joinAgent(h, n, spec, art, api, o),
        );
        task.output(`${n.name}: ready`);
      });

    await task.change(undefined, `install ${driver.name} from the bundle on ${nodes.map((n) => n.name).join(', ')}`, async () => {
      const staged = await settleLimit(nodes, ctx.config.ssh.concurrency, async (n) => {
        const changed = await driver.install(hostOf(outputs, n.name), n, await specFor(ctx, outputs, n.name), art);
        if (changed.length) task.output(`${n.name}: ${changed.length} file(s) in place`);
      });
      const failed = staged.flatMap((r, i) => (r.status === 'rejected' ? [{ name: nodes[i]!.name, error: r.reason as unknown }] : []));
      if (failed.length) throw failedOn('cannot put the cluster files', failed);
    });

    const [first, ...rest] = nodes;
    await one(first!);
    // once the first controller is up: the other controllers one at a time, the workers meanwhile
    const servers = rest.filter((x) => x.role === 'server');
    const agents = rest.filter((x) => x.role === 'agent');
    const [sr, ar] = await Promise.allSettled([
      (async () => {
        for (const n of servers) {
          task.signal.throwIfAborted();
          await one(n);
        }
      })(),
      settleLimit(agents, ctx.config.ssh.concurrency, one),
    ]);
    const failed = [
      ...(sr.status === 'rejected' ? [{ name: 'controllers', error: sr.reason as unknown }] : []),
      ...(ar.status === 'fulfilled'
        ? ar.value.flatMap((r, i) => (r.status === 'rejected' ? [{ name: agents[i]!.name, error: r.reason as unknown }] : []))
        : [{ name: 'workers', error: ar.reason as unknown }]),
    ];
    if (failed.length === 1) throw failed[0]!.error;
    if (failed.length)
      throw new PalisadeError('install.cluster', `${failed.length} node(s) did not join`, {
        details: failed.map((f) => ({ path: f.name, message: errorMessage(f.error) })),
      });

    const file = stateFiles(ctx.stateDir).kubeconfig;
    await task.change(undefined, `write the admin kubeconfig ${file}`, async () =>
      writeFileAtomic(file, await driver.kubeconfig(api, ctx.config.cluster.fqdn), { mode: 0o600, mkdirp: true }),
    );
    task.output(`kubeconfig: ${file}`);
  },
};
