/** Per-host checks of the network: free ports, CIDRs apart from the site's, DNS, and the air gap (judged on routes only). */
import type { PalisadeConfig } from '../../config/schema.ts';
import type { HostFacts } from '../../facts/types.ts';
import { cidrsOverlap, isLoopback, parseCidr4 } from '../net.ts';
import type { Finding } from '../types.ts';
import { finding, type HostCheck, type HostCheckContext } from './finding.ts';

export const portsFree: HostCheck = (c) => {
  const l = c.facts.listeningPorts;
  const req = `free: ${c.ports.join(', ')}`;
  if (!l) return finding(c, 'ports.free', 'ports', 'warn', 'unknown (neither ss nor /proc/net/tcp)', req, 'check with `ss -tln` on the host');
  const inUse = c.ports.filter((p) => l.includes(p));
  const ours = inUse.filter((p) => c.owned?.ports[p] !== undefined);
  const busy = inUse.filter((p) => !ours.includes(p));
  const oursText = ours.length ? `in use by the appliance: ${ours.map((p) => `${p} (${c.owned!.ports[p]})`).join(', ')}` : '';
  const measured = [busy.length ? `in use: ${busy.join(', ')}` : '', oursText].filter(Boolean).join('; ') || 'all free';
  return finding(
    c,
    'ports.free',
    'ports',
    busy.length ? 'fail' : 'pass',
    measured,
    ours.length ? `${req} (or the appliance's own)` : req,
    `stop what listens on ${busy.join(', ')} (\`ss -tlnp\` shows it)`,
  );
};

export const cidrOverlap: HostCheck = (c) => {
  const nets = c.facts.nics
    .filter((n) => !n.loopback)
    .flatMap((n) => n.addresses.filter((a) => a.family === 'inet').map((a) => ({ nic: n.name, cidr: parseCidr4(`${a.address}/${a.prefixLength}`) })))
    .filter((x): x is { nic: string; cidr: NonNullable<typeof x.cidr> } => x.cidr !== undefined);
  const ranges = [
    { name: 'podCidr', cidr: parseCidr4(c.config.cluster.podCidr) },
    { name: 'serviceCidr', cidr: parseCidr4(c.config.cluster.serviceCidr) },
  ];
  const clashes: string[] = [];
  for (const r of ranges)
    for (const n of nets) if (r.cidr && cidrsOverlap(r.cidr, n.cidr)) clashes.push(`${r.name} ${r.cidr.text} overlaps ${n.nic} ${n.cidr.text}`);
  return finding(
    c,
    'network.cidr',
    'pod/service CIDRs',
    clashes.length ? 'fail' : 'pass',
    clashes.length ? clashes.join('; ') : `host networks ${nets.map((n) => n.cidr.text).join(', ') || 'none'}`,
    `no overlap with ${c.config.cluster.podCidr}, ${c.config.cluster.serviceCidr}`,
    'choose cluster.podCidr / cluster.serviceCidr outside the site networks',
  );
};

export const nameserver: HostCheck = (c) => {
  const ns = c.facts.nameservers;
  const usable = ns.filter((n) => !isLoopback(n));
  const measured = ns.length ? ns.join(', ') : 'none in /etc/resolv.conf';
  return finding(
    c,
    'dns.nameserver',
    'nameserver',
    usable.length ? 'pass' : 'fail',
    measured,
    'at least one nameserver not on loopback',
    'list the site DNS server in /etc/resolv.conf (or systemd-resolved DNS=)',
  );
};

export const fqdnResolves: HostCheck = (c) => {
  const a = c.facts.fqdn.addresses;
  const req = `${c.facts.fqdn.name} -> ${c.fqdnTargets.join(' or ')}`;
  if (!a.length)
    return finding(
      c,
      'dns.fqdn',
      'FQDN resolves',
      'fail',
      `${c.facts.fqdn.name} does not resolve`,
      req,
      `add ${c.facts.fqdn.name} to the site DNS (or /etc/hosts) pointing at the VIP or a controller`,
    );
  const good = a.filter((x) => c.fqdnTargets.includes(x));
  return finding(
    c,
    'dns.fqdn',
    'FQDN resolves',
    good.length ? 'pass' : 'fail',
    `${c.facts.fqdn.name} -> ${a.join(', ')}`,
    req,
    `point ${c.facts.fqdn.name} at the VIP or a controller address`,
  );
};

/**
 * The FQDN from the admin side: the kubeconfig palisade writes and the operator's
 * browser use it. Not resolving here does not stop the install (palisade reaches
 * the hosts by address), so it warns, and says how to reach the API without
 * editing this machine's /etc/hosts.
 */
export function adminFqdnFinding(hostName: string, facts: HostFacts, targets: string[], apiPort: number): Finding {
  const c = { host: { name: hostName } } as HostCheckContext;
  const name = facts.fqdn.name;
  const a = facts.fqdn.addresses;
  const req = `${name} -> ${targets.join(' or ')} (for the kubeconfig and browsers on this machine)`;
  const override = `kubectl --server https://${targets[0] ?? 'CONTROLLER'}:${apiPort} --tls-server-name ${name}`;
  if (!a.length)
    return finding(
      c,
      'dns.fqdn',
      'FQDN resolves here',
      'warn',
      `${name} does not resolve on this machine`,
      req,
      `add ${name} to the site DNS; until then: ${override}`,
    );
  const good = a.filter((x) => targets.includes(x));
  return finding(
    c,
    'dns.fqdn',
    'FQDN resolves here',
    good.length ? 'pass' : 'warn',
    `${name} -> ${a.join(', ')}`,
    req,
    `point ${name} at the VIP or a controller; until then: ${override}`,
  );
}

/** Air gap: judged on the routing table only (ip route get); no packet is ever sent. */
export function airGapFinding(config: PalisadeConfig, hostName: string, facts: HostFacts): Finding {
  const probes = facts.routes.publicProbes;
  const routed = probes.filter((p) => p.routable);
  const c = { host: { name: hostName } } as HostCheckContext;
  const byPath = new Map<string, string[]>();
  for (const p of routed) {
    const k = `via ${p.via ?? '-'} dev ${p.dev ?? '-'}`;
    byPath.set(k, [...(byPath.get(k) ?? []), p.destination]);
  }
  const list = [...byPath].map(([k, d]) => `${d.join(', ')} ${k}`).join('; ');
  if (!probes.length)
    return finding(
      c,
      'airgap.route',
      'air gap',
      config.airGapped ? 'warn' : 'pass',
      'unknown (`ip route get` unavailable)',
      config.airGapped ? 'no route to public addresses' : 'none (airGapped: false)',
      'check `ip route` on the host',
    );
  if (!config.airGapped) {
    return finding(
      c,
      'airgap.route',
      'air gap',
      'pass',
      routed.length ? `note: not air-gapped, routes to ${list}` : 'no route to public addresses',
      'none (airGapped: false)',
    );
  }
  return finding(
    c,
    'airgap.route',
    'air gap',
    routed.length ? 'fail' : 'pass',
    routed.length ? `routes to ${list}` : `no route to ${probes.map((p) => p.destination).join(', ')}`,
    'no route to public addresses (airGapped: true)',
    'remove the default route (or add `unreachable` routes for public ranges), or set airGapped: false if the site is not air-gapped',
  );
}
export const airGap: HostCheck = (c) => airGapFinding(c.config, c.host.name, c.facts);
