import { type DefaultRenderer, Listr, ListrLogger, ProcessOutput, type SimpleRenderer, type ListrTaskWrapper } from 'listr2';
import type { PalisadeConfig } from '../config/schema.ts';
import { errorMessage, isPalisadeError, PalisadeError, usageError } from '../core/errors.ts';
import { settleLimit } from '../core/limit.ts';
import { gatherFacts } from '../facts/index.ts';
import { localFacts } from '../facts/local.ts';
import type { HostFacts } from '../facts/types.ts';
import { closeAll, connectHosts } from '../hosts/index.ts';
import type { RemoteHost } from '../hosts/types.ts';
import { evaluate, type PreflightReport } from './report.ts';
import type { HostInput } from './types.ts';
import { applianceOwnership } from './appliance.ts';
import type { JournalData } from '../state/journal.ts';

export interface PreflightOptions {
  config: PalisadeConfig;
  baseDir: string;
  /** check only these hosts (cluster checks then cover only them) */
  only?: string[];
  /** the admin machine alone, as a controller */
  local?: boolean;
  ignore?: string[];
  /** 'tty': a listr2 line per host on stderr; 'plain': a line per host when done; 'none' */
  progress?: 'tty' | 'plain' | 'none';
  /** the fdatasync probe (default on) */
  diskLatency?: boolean;
  /** the install journal, when there is one: what the appliance owns is then reported as its own */
  journal?: JournalData;
}

type Wrapper = ListrTaskWrapper<unknown, typeof DefaultRenderer, typeof SimpleRenderer>;

/**
 * Connect, gather facts from every host (one probe round trip each, hosts in
 * parallel up to ssh.concurrency) and from this machine, then evaluate. A host
 * that cannot be reached becomes a `host.reachable` failure; the rest report.
 */
export async function runPreflight(o: PreflightOptions): Promise<PreflightReport> {
  const startedAt = new Date();
  const { config } = o;
  const fqdn = config.cluster.fqdn;
  if (o.local) {
    const admin = await localFacts({ fqdn });
    return evaluate({ config, hosts: [], admin, local: true, ...(o.ignore ? { ignore: o.ignore } : {}), startedAt });
  }
  const unknown = (o.only ?? []).filter((n) => !config.hosts.some((h) => h.name === n));
  if (unknown.length)
    throw usageError('preflight.host', `no host named ${unknown.join(', ')} in palisade.yaml`, `hosts are: ${config.hosts.map((h) => h.name).join(', ')}`);
  const selected = config.hosts.filter((h) => !o.only?.length || o.only.includes(h.name));
  const adminP = localFacts({ fqdn }).catch(() => undefined);

  const gatherOne = async (name: string, host: RemoteHost): Promise<HostFacts> => {
    const hc = selected.find((h) => h.name === name)!;
    return gatherFacts(host, { fqdn, ...(hc.dataDisk ? { dataDisk: hc.dataDisk } : {}), ...(o.diskLatency === false ? { diskLatency: false } : {}) });
  };

  const inputs = new Map<string, HostInput>(selected.map((h) => [h.name, { config: h }]));
  const fail = (name: string, e: unknown) => {
    const input = inputs.get(name)!;
    input.error = isPalisadeError(e)
      ? { code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) }
      : { code: 'facts.error', message: errorMessage(e) };
  };

  // one task per host: connect, then the probe; hosts in parallel
  const perHost = async (name: string, setStatus: (s: string) => void): Promise<void> => {
    setStatus('connecting');
    const { hosts, failures } = await connectHosts(config, o.baseDir, { only: [name] });
    try {
      const f = failures[0];
      if (f) throw f.error;
      const host = hosts.get(name);
      if (!host) throw new PalisadeError('preflight.connect', `${name}: not connected`);
      setStatus('gathering facts (1 round trip)');
      const facts = await gatherOne(name, host);
      inputs.get(name)!.facts = facts;
    } finally {
      await closeAll(hosts);
    }
  };

  const mode = o.progress ?? 'none';
  if (mode === 'tty') {
    const list = new Listr<unknown, 'default', 'simple'>(
      selected.map((h) => ({
        title: `${h.name} (${h.address})`,
        task: async (_c: unknown, t: Wrapper) => {
          try {
            await perHost(h.name, (s) => (t.output = s));
            // the summary line is the report's; progress only says the host is done
            t.title = `${h.name} (${h.address}): facts gathered`;
          } catch (e) {
            fail(h.name, e);
            throw new Error(`${h.name}: ${errorMessage(e)}`);
          }
        },
      })),
      {
        concurrent: config.ssh.concurrency,
        exitOnError: false,
        registerSignalListeners: false,
        renderer: 'default',
        rendererOptions: {
          collapseErrors: false,
          showErrorMessage: true,
          logger: new ListrLogger({ processOutput: new ProcessOutput(process.stderr, process.stderr) }),
        },
      },
    );
    await list.run().catch(() => undefined);
  } else {
    await settleLimit(selected, config.ssh.concurrency, async (h) => {
      try {
        await perHost(h.name, () => undefined);
        if (mode === 'plain') process.stderr.write(`${h.name}: facts gathered\n`);
      } catch (e) {
        fail(h.name, e);
        if (mode === 'plain') process.stderr.write(`${h.name}: unreachable: ${errorMessage(e)}\n`);
      }
    });
  }
  const admin = await adminP;
  const facts = new Map([...inputs].flatMap(([n, i]) => (i.facts ? [[n, i.facts] as const] : [])));
  const owned = applianceOwnership(config, o.journal, facts);
  return evaluate({ config, hosts: [...inputs.values()], ...(admin ? { admin } : {}), ...(o.ignore ? { ignore: o.ignore } : {}), startedAt, owned });
}
