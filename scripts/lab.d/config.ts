/** The palisade.yaml that `scripts/lab up` writes for a lab (pure: tested in test/unit/lab-config.test.ts). */
import type { LabHost, LabInfo } from './types.ts';

export const FQDN = 'palisade.lab.internal';

/** 1 controller below 3 hosts, else 3; the rest are workers. */
export function roleOf(i: number, count: number): 'controller' | 'worker' {
  return i <= (count >= 3 ? 3 : 1) ? 'controller' : 'worker';
}

/** What sizing.custom asks of every lab host: this machine's CPUs and half its memory (they share it). */
export function machineSizing(nproc: number, memTotalKiB: number): { cpus: number; memGiB: number } {
  return { cpus: Math.max(1, nproc), memGiB: Math.max(1, Math.floor(memTotalKiB / 1024 / 1024 / 2)) };
}

/**
 * `sizing.diskGB` is the lab's default disk size (`--disk-size SIZE`), so a host given a smaller
 * disk (`--disk-size hostK=SIZE`) is one preflight should flag.
 */
export function palisadeYaml(info: LabInfo, machine: { cpus: number; memGiB: number; diskBytes: number }): string {
  const q = (s: string) => JSON.stringify(s);
  const { cpus, memGiB } = machine;
  const diskGB = Math.max(0.1, Math.floor((machine.diskBytes / 1e9) * 10) / 10);
  const jump = info.hosts.find((h) => info.hosts.some((x) => x.behind === h.name));
  const endpoint = (h: LabHost, indent: string) =>
    [`address: ${h.address}`, `port: ${h.port}`, `user: root`, `privateKey: ${q(info.keyPath)}`, `hostKey: ${q(h.hostKey)}`]
      .map((l) => `${indent}${l}`)
      .join('\n');
  return `# Written by \`scripts/lab up\` for the lab in ${info.dir} (slot ${info.slot}, ${info.subnet}).
# Every \`lab up\` writes it anew; copy it elsewhere to keep changes.
apiVersion: palisade/v1

cluster:
  name: lab
  fqdn: ${FQDN}           # in each host's /etc/hosts (first controller)
  podCidr: 10.42.0.0/16
  serviceCidr: 10.43.0.0/16

airGapped: true                     # the lab hosts have no default route

# The lab hosts share this machine: ${cpus} CPU(s), half its memory; the disk is the lab's default data disk size.
sizing:
  profile: custom
  custom:
    controller: { cpus: ${cpus}, memoryGiB: ${memGiB}, diskGB: ${diskGB} }
    worker: { cpus: ${cpus}, memoryGiB: ${memGiB}, diskGB: ${diskGB} }

ssh:
  concurrency: 10
  connectTimeoutSeconds: 10
  commandTimeoutSeconds: 600
  keepaliveSeconds: 15
${
  jump
    ? `
jumpHost:                           # ${jump.name}; hosts with viaJumpHost are reachable only through it
${endpoint(jump, '  ')}
`
    : ''
}
hosts:
${info.hosts
  .map(
    (h) => `  - name: ${h.name}
    role: ${h.role}
${endpoint(h, '    ')}
    dataDisk: ${h.dataDisk}              # ${h.loopDevice} on this machine, ${h.diskBytes} bytes${h.behind ? `\n    viaJumpHost: true` : ''}`,
  )
  .join('\n')}

encryption:
  mode: tang
  tang:
${info.services.tang.map((t) => `    - url: ${t.url}\n      thumbprint: ${t.thumbprint}`).join('\n')}
  wipe: false
  # device-mapper is absent on this machine: disks are formatted and bound, not opened.
  allowUnopened: true

registry:
  port: 5000

maintenanceWindows: []

# Waived checks still run and show as "waived" with what they measured.
preflight:
  ignore:
    # This machine plays the admin workstation and has a default route to the internet;
    # the lab hosts themselves have none, and their airgap.route check stays on.
    - airgap.route@(admin)
    # The lab's data disks are loop files on this machine's shared disk: their sync
    # latency says nothing about the datacenter's disks.
    - disk.latency
    # nspawn machines cannot read /sys/class/dmi/id/product_uuid, so uniqueness of the
    # SMBIOS UUID cannot be checked here (machine-ids and MACs still are).
    - unique.product_uuid
`;
}
