import type { HostFacts, NicFacts } from '../facts/types.ts';
import { CLUSTER, type Finding, type HostInput } from './types.ts';

/** Checks across hosts: identities must be unique, the network MTU the same. */
type Reached = { name: string; address: string; facts: HostFacts };

function duplicates(hosts: Reached[], values: (f: HostFacts) => string[]): { dups: string[]; unknown: string[] } {
  const owners = new Map<string, Set<string>>();
  const unknown: string[] = [];
  for (const h of hosts) {
    const vs = values(h.facts);
    if (!vs.length) unknown.push(h.name);
    for (const v of vs) owners.set(v, (owners.get(v) ?? new Set()).add(h.name));
  }
  const dups = [...owners].filter(([, o]) => o.size > 1).map(([v, o]) => `${v} on ${[...o].join(', ')}`);
  return { dups, unknown };
}

function uniqueness(id: string, title: string, hosts: Reached[], values: (f: HostFacts) => string[], fix: string): Finding {
  const { dups, unknown } = duplicates(hosts, values);
  const unk = unknown.length ? `; could not be checked on ${unknown.join(', ')} (unreadable there)` : '';
  const status = dups.length ? 'fail' : unknown.length ? 'warn' : 'pass';
  return {
    id,
    host: CLUSTER,
    title,
    status,
    measured: dups.length
      ? `duplicate ${dups.join('; ')}${unk}`
      : unknown.length === hosts.length
        ? `could not be checked: unreadable on ${unknown.join(', ')}`
        : `${hosts.length - unknown.length} distinct${unk}`,
    required: 'unique across hosts',
    ...(status !== 'pass' ? { fix } : {}),
  };
}

/** The NIC a host is reached on: the one holding its configured address, else the default route's. */
export function primaryNic(facts: HostFacts, address: string): NicFacts | undefined {
  const byAddr = facts.nics.find((n) => n.addresses.some((a) => a.address === address));
  if (byAddr) return byAddr;
  const dev = facts.routes.defaultRoutes[0]?.dev;
  return facts.nics.find((n) => n.name === dev);
}

export function clusterChecks(inputs: HostInput[]): Finding[] {
  const hosts: Reached[] = inputs.filter((h) => h.facts).map((h) => ({ name: h.config.name, address: h.config.address, facts: h.facts as HostFacts }));
  if (hosts.length < 2) return [];
  const out: Finding[] = [
    uniqueness(
      'unique.hostname',
      'hostnames',
      hosts,
      (f) => (f.hostname ? [f.hostname.toLowerCase()] : []),
      'give every host its own hostname (hostnamectl set-hostname)',
    ),
    uniqueness(
      'unique.mac',
      'MAC addresses',
      hosts,
      (f) => f.nics.filter((n) => !n.loopback && n.mac && n.mac !== '00:00:00:00:00:00').map((n) => n.mac as string),
      'give every NIC its own MAC (cloned VMs keep the template MAC)',
    ),
    uniqueness(
      'unique.machine_id',
      'machine-ids',
      hosts,
      (f) => (f.machineId ? [f.machineId] : []),
      'regenerate on cloned hosts: rm /etc/machine-id && systemd-machine-id-setup',
    ),
    // product_uuid is unreadable on many VMs and containers: that is a check not made (warn), never a pass
    uniqueness(
      'unique.product_uuid',
      'product UUIDs',
      hosts,
      (f) => (f.productUuid ? [f.productUuid] : []),
      'give every VM its own SMBIOS UUID (cloned VMs keep the template UUID); where /sys/class/dmi/id/product_uuid is unreadable, compare them on the hypervisor',
    ),
  ];
  const mtus = hosts.map((h) => ({ name: h.name, nic: primaryNic(h.facts, h.address) })).filter((x) => x.nic?.mtu !== undefined);
  const distinct = [...new Set(mtus.map((x) => x.nic?.mtu))];
  out.push({
    id: 'network.mtu',
    host: CLUSTER,
    title: 'MTU',
    status: distinct.length > 1 ? 'fail' : 'pass',
    measured:
      distinct.length > 1
        ? mtus.map((x) => `${x.name} ${x.nic?.name} ${x.nic?.mtu}`).join(', ')
        : distinct.length
          ? `${distinct[0]} on ${mtus.length} hosts`
          : 'unknown',
    required: 'the same MTU on every host',
    ...(distinct.length > 1 ? { fix: 'set one MTU on the cluster network of every host (mismatches drop large packets)' } : {}),
  });
  return out;
}
