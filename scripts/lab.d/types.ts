/** The lab's files: DIR/lab.json (the contract other areas read) and DIR/state.json (what to remove). */

export interface LabTang {
  url: string;
  thumbprint: string;
}

export interface LabHost {
  name: string;
  address: string;
  port: number;
  netns: string;
  machine: string;
  dataDisk: string;
  loopDevice: string;
  /** size of the data disk in bytes */
  diskBytes: number;
  tpm: boolean;
  /** SHA256:… fingerprint of the host's SSH key */
  hostKey: string;
  role: 'controller' | 'worker';
  /** reachable only through this jump host */
  behind?: string;
}

export interface LabInfo {
  dir: string;
  slot: number;
  subnet: string;
  bridge: string;
  /** admin-side address of the bridge (this machine) */
  gateway: string;
  keyPath: string;
  configPath: string;
  knownHostsPath: string;
  sshConfigPath: string;
  services: { netns: string; address: string; tang: LabTang[]; ntp?: string };
  hosts: LabHost[];
}

/** A resource the lab made, recorded (before it is made, where its id is known) so `down` removes exactly it. */
export type Resource =
  | { kind: 'slot'; slot: number; claim: string }
  | { kind: 'bridge'; name: string }
  | { kind: 'netns'; name: string }
  | { kind: 'veth'; name: string }
  | { kind: 'loop'; file: string; device?: string }
  | { kind: 'process'; what: string; pid: number; start: string }
  | { kind: 'path'; path: string }
  /** a cgroup directory the lab made for one machine (one per hierarchy) */
  | { kind: 'cgroup'; path: string };

export interface LabState {
  version: 1;
  dir: string;
  slot: number;
  createdAt: string;
  /** /proc/sys/kernel/random/boot_id when made: after a reboot, PIDs and names may be another lab's */
  bootId?: string;
  resources: Resource[];
}
