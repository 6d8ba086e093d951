/** Parsers for the probe's network sections: NICs, listening ports, routes, resolvers, FQDN addresses. */
import { isIP } from 'node:net';
import type { NicAddress, NicFacts, RouteFacts, RouteProbe } from './types.ts';
import { num } from './parse-text.ts';

interface IpAddrJson {
  ifname?: string;
  address?: string;
  mtu?: number;
  operstate?: string;
  link_type?: string;
  flags?: string[];
  addr_info?: Array<{ family?: string; local?: string; prefixlen?: number; scope?: string }>;
}

export function parseNics(body: string | undefined): NicFacts[] | undefined {
  const t = (body ?? '').trim();
  if (!t) return undefined;
  if (t.startsWith('[')) {
    try {
      return (JSON.parse(t) as IpAddrJson[]).map((n) => {
        const loopback = n.link_type === 'loopback' || (n.flags ?? []).includes('LOOPBACK');
        return {
          name: n.ifname ?? '?',
          ...(n.address && !loopback ? { mac: n.address.toLowerCase() } : {}),
          ...(n.mtu !== undefined ? { mtu: n.mtu } : {}),
          ...(n.operstate ? { state: n.operstate.toLowerCase() } : {}),
          loopback,
          addresses: (n.addr_info ?? [])
            .filter((a) => (a.family === 'inet' || a.family === 'inet6') && a.local)
            .map(
              (a): NicAddress => ({
                family: a.family as 'inet' | 'inet6',
                address: a.local as string,
                prefixLength: a.prefixlen ?? (a.family === 'inet' ? 32 : 128),
                ...(a.scope ? { scope: a.scope } : {}),
              }),
            ),
        };
      });
    } catch {
      return undefined;
    }
  }
  // fallback: "sys NAME MAC MTU STATE" lines from /sys/class/net, then `ip -o addr` lines
  const nics = new Map<string, NicFacts>();
  for (const line of t.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[0] === 'sys' && f[1]) {
      const mac = f[2]?.toLowerCase();
      const loopback = f[1] === 'lo' || mac === '00:00:00:00:00:00';
      const mtu = num(f[3]);
      nics.set(f[1], {
        name: f[1],
        ...(mac && !loopback ? { mac } : {}),
        ...(mtu !== undefined ? { mtu } : {}),
        ...(f[4] ? { state: f[4] } : {}),
        loopback,
        addresses: [],
      });
    } else {
      // "2: eth0    inet 10.0.0.5/24 brd ... scope global eth0\       valid_lft ..."
      const m = /^\d+:\s+(\S+)\s+(inet6?)\s+([0-9a-fA-F.:]+)\/(\d+)(?:.*\bscope\s+(\w+))?/.exec(line.trim());
      if (m?.[1] && m[3]) {
        const n = nics.get(m[1]);
        n?.addresses.push({ family: m[2] as 'inet' | 'inet6', address: m[3], prefixLength: Number(m[4]), ...(m[5] ? { scope: m[5] } : {}) });
      }
    }
  }
  return [...nics.values()];
}
/** Local ports in LISTEN state, from `ss -Htln` or /proc/net/tcp{,6} (marked by a "# proc" line). */
export function parseListeningPorts(body: string | undefined): number[] | undefined {
  const t = (body ?? '').trim();
  if (!t) return undefined;
  const ports = new Set<number>();
  if (t.startsWith('# proc')) {
    for (const line of t.split('\n')) {
      const f = line.trim().split(/\s+/);
      // sl local_address rem_address st ...; 0A = LISTEN
      if (f.length > 3 && /^\d+:$/.test(f[0] ?? '') && f[3] === '0A') {
        const port = parseInt((f[1] ?? '').split(':').pop() ?? '', 16);
        if (Number.isFinite(port)) ports.add(port);
      }
    }
  } else {
    for (const line of t.split('\n')) {
      const f = line.trim().split(/\s+/);
      // State Recv-Q Send-Q Local:Port Peer:Port
      const local = f[0] === 'LISTEN' ? f[3] : f[2];
      const port = Number(local?.slice(local.lastIndexOf(':') + 1));
      if (Number.isInteger(port) && port > 0) ports.add(port);
    }
  }
  return [...ports].sort((a, b) => a - b);
}
function routeFields(line: string): { via?: string; dev?: string } {
  const via = /\bvia\s+(\S+)/.exec(line)?.[1];
  const dev = /\bdev\s+(\S+)/.exec(line)?.[1];
  return { ...(via ? { via } : {}), ...(dev ? { dev } : {}) };
}

export function parseRoutes(body: string | undefined): RouteFacts {
  const out: RouteFacts = { defaultRoutes: [], publicProbes: [] };
  for (const line of (body ?? '').split('\n')) {
    const t = line.trim();
    if (t.startsWith('v4 default') || t.startsWith('v6 default')) {
      out.defaultRoutes.push({ family: t.startsWith('v4') ? 'inet' : 'inet6', ...routeFields(t) });
    } else if (t.startsWith('get ')) {
      const m = /^get (\S+) (\d+) ?(.*)$/.exec(t);
      if (!m?.[1]) continue;
      const detail = (m[3] ?? '').trim();
      const first = detail.split(/\s+/)[0] ?? '';
      // unreachable / prohibit / blackhole routes answer without error on some kernels: they carry nothing
      const routable = m[2] === '0' && detail !== '' && !/^(unreachable|prohibit|blackhole|throw)$/.test(first) && !/unreachable|RTNETLINK|Error/i.test(detail);
      const probe: RouteProbe = { destination: m[1], routable, detail, ...(routable ? routeFields(detail) : {}) };
      out.publicProbes.push(probe);
    }
  }
  return out;
}

export function parseNameservers(body: string | undefined): string[] {
  const out: string[] = [];
  for (const line of (body ?? '').split('\n')) {
    const m = /^(?:resolved\s+)?\s*nameserver\s+(\S+)/.exec(line.trim());
    if (m?.[1] && !out.includes(m[1])) out.push(m[1]);
  }
  return out;
}

export function parseAddresses(body: string | undefined): string[] {
  return [
    ...new Set(
      (body ?? '')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => isIP(l) !== 0),
    ),
  ];
}
