/**
 * The lab's network, each piece recorded before it is made: the slot's bridge (this machine's
 * side), a namespace on the bridge per host and for the services, and for a host behind the
 * jump host a namespace reachable only through the jump host's.
 */
import type { Net } from './slots.ts';
import type { StateRecorder } from './state.ts';
import { sh } from './sys.ts';

/** The bridge, with this machine's address in the slot (.1). */
export async function makeBridge(rec: StateRecorder, n: Net): Promise<void> {
  rec.add({ kind: 'bridge', name: n.bridge });
  await sh`ip link add ${n.bridge} type bridge`;
  await sh`ip addr add ${`${n.gateway}/27`} dev ${n.bridge}`;
  await sh`ip link set ${n.bridge} up`;
}

/** A new namespace `ns` whose eth0 (address `addr`) is the peer of `veth` on the bridge. */
export async function attach(rec: StateRecorder, n: Net, ns: string, veth: string, addr: string): Promise<void> {
  rec.add({ kind: 'netns', name: ns });
  await sh`ip netns add ${ns}`;
  rec.add({ kind: 'veth', name: veth });
  await sh`ip link add ${veth} type veth peer name eth0 netns ${ns}`;
  await sh`ip link set ${veth} master ${n.bridge} up`;
  await sh`ip -n ${ns} addr add ${`${addr}/27`} dev eth0`;
  await sh`ip -n ${ns} link set eth0 up`;
  await sh`ip -n ${ns} link set lo up`;
}

/**
 * A namespace for a host behind the jump host: a veth pair between the jump host's namespace and
 * this one (the admin side has no path here), with routes to the lab's services through the jump
 * host, as a routed site would have it. The veth goes when the jump host's namespace does.
 */
export async function attachBehind(
  rec: StateRecorder,
  n: Net,
  host: { name: string; netns: string; address: string },
  jump: { netns: string; address: string },
  servicesNs: string,
): Promise<void> {
  const link = `jump-${host.name}`.slice(0, 15);
  rec.add({ kind: 'netns', name: host.netns });
  await sh`ip netns add ${host.netns}`;
  await sh`ip -n ${jump.netns} link add ${link} type veth peer name eth0 netns ${host.netns}`;
  await sh`ip -n ${jump.netns} link set ${link} up`;
  await sh`ip -n ${jump.netns} route add ${`${host.address}/32`} dev ${link} src ${jump.address}`;
  await sh`ip netns exec ${jump.netns} sysctl -q -w net.ipv4.ip_forward=1`;
  await sh`ip -n ${host.netns} addr add ${`${host.address}/32`} dev eth0`;
  await sh`ip -n ${host.netns} link set eth0 up`;
  await sh`ip -n ${host.netns} link set lo up`;
  await sh`ip -n ${host.netns} route add ${`${jump.address}/32`} dev eth0`;
  await sh`ip -n ${host.netns} route add ${n.subnet} via ${jump.address} dev eth0`;
  await sh`ip -n ${servicesNs} route add ${`${host.address}/32`} via ${jump.address}`;
}
