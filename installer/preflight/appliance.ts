/**
 * What an installed appliance owns on each host, so preflight on a finished
 * install reports the appliance's own ports and encrypted disks as in use by
 * it, not as failures with destructive fixes. Decided from the install journal
 * (which phases finished on which host) and the live facts (the port listens,
 * the disk carries a LUKS header). Pure.
 */
import type { PalisadeConfig } from '../config/schema.ts';
import { API_PORT, topology } from '../config/topology.ts';
import type { HostFacts } from '../facts/types.ts';
import type { JournalData } from '../state/journal.ts';

export interface ApplianceOwned {
  /** port → what of the appliance listens there */
  ports: Record<number, string>;
  /** the data disk holds the appliance's LUKS2 volume */
  disk?: { device: string; what: string };
  /** mount points and holders of the data disk that are the appliance's */
  diskUsers: string[];
}

const doneOn = (journal: JournalData | undefined, phase: string, host: string): boolean => {
  const p = journal?.phases[phase];
  if (!p) return false;
  const h = p.hosts[host];
  return h ? h.status === 'done' : p.status === 'done';
};

/** The appliance's share of each host; a host with nothing of the appliance on it is absent. */
export function applianceOwnership(
  config: PalisadeConfig,
  journal: JournalData | undefined,
  facts: ReadonlyMap<string, HostFacts>,
): Record<string, ApplianceOwned> {
  const out: Record<string, ApplianceOwned> = {};
  if (!journal) return out;
  const topo = topology(config);
  for (const h of config.hosts) {
    const f = facts.get(h.name);
    const owned: ApplianceOwned = { ports: {}, diskUsers: [] };
    if (doneOn(journal, 'cluster', h.name)) {
      const ports: Array<[number, string]> =
        h.role === 'controller'
          ? [
              [API_PORT, 'k3s API'],
              [2379, 'etcd client'],
              [2380, 'etcd peer'],
              [10250, 'kubelet'],
              [443, 'ingress'],
            ]
          : [
              [10250, 'kubelet'],
              [443, 'ingress'],
            ];
      for (const [p, what] of ports) owned.ports[p] = what;
    }
    if (topo.registry.host.name === h.name && doneOn(journal, 'registry', h.name)) owned.ports[config.registry.port] = 'pack registry';
    const d = f?.dataDisk;
    if (h.dataDisk && d?.exists && d.fstype === 'crypto_LUKS' && doneOn(journal, 'encrypt', h.name)) {
      owned.disk = { device: h.dataDisk, what: "the appliance's LUKS2 volume" };
      // the opened volume (dm-N) and its mount are the appliance's too
      owned.diskUsers = [
        ...d.holders.filter((x) => x.startsWith('dm-')).map((x) => `held by ${x}`),
        ...d.mountpoints.filter((m) => m.startsWith('/var/lib/palisade')).map((m) => `mounted at ${m}`),
      ];
    }
    if (Object.keys(owned.ports).length || owned.disk) out[h.name] = owned;
  }
  return out;
}
