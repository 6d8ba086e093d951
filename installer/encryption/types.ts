/**
 * Types shared by encryption planning (pure), apply and status (I/O).
 */

export type EncryptionMode = 'tpm2' | 'tang' | 'tpm2+tang' | 'passphrase';

/** The settings that apply to one host: cluster settings with the host's override on top. */
export interface HostEncryptionSettings {
  host: string;
  mode: EncryptionMode | 'none';
  disks: string[];
  tang: Array<{ url: string; thumbprint: string }>;
  threshold: number | undefined;
  pcrs: number[];
  wipe: boolean;
  cipher: string;
  pbkdf: 'argon2id' | 'argon2i' | 'pbkdf2';
  pbkdfMemoryKiB: number | undefined;
  iterTimeMs: number | undefined;
  /** fixed PBKDF cost: no benchmark (argon2 passes, pbkdf2 iterations) */
  pbkdfIterations: number | undefined;
  allowUnopened: boolean;
  mountPoint: string;
}

/**
 * A clevis binding reduced to what the config controls. Tang pins carry the
 * thumbprints of the advertisement's signing keys they were made with; tpm2
 * pins carry their PCR list. Two bindings are the same when their canonical
 * strings are equal.
 */
export type Binding =
  | { pin: 'tang'; url: string; thumbprints: string[] }
  | { pin: 'tpm2'; pcrs: number[] }
  | { pin: 'sss'; threshold: number; pins: Binding[] }
  | { pin: 'unknown'; name: string };

/** One clevis token in a LUKS2 header. */
export interface ClevisToken {
  tokenId: number;
  keyslots: number[];
  binding: Binding;
}

/** What `cryptsetup luksDump --dump-json-metadata` says, reduced. */
export interface LuksHeader {
  keyslots: Array<{ id: number; type: string; kdf: string; cipher: string | undefined }>;
  segmentCipher: string | undefined;
  sectorSize: number | undefined;
  tokens: ClevisToken[];
  /** tokens that are not clevis tokens (e.g. systemd-tpm2): counted, never touched */
  otherTokens: Array<{ tokenId: number; type: string; keyslots: number[] }>;
}

/** Everything one SSH round trip learns about one disk. */
export interface DiskFacts {
  device: string;
  exists: boolean;
  isBlockDevice: boolean;
  sizeBytes: number | undefined;
  readOnly: boolean;
  /** partitions (lsblk children) */
  partitions: string[];
  /** mount points of the disk or any of its partitions */
  mountpoints: string[];
  /** `blkid -p -o export` tags, empty when nothing was recognised */
  blkid: Record<string, string>;
  /** parsed LUKS2 metadata, when the disk is LUKS2 */
  luks: LuksHeader | undefined;
  /** `clevis luks list` lines, for display */
  clevisList: string[];
  /** non-zero bytes in the first MiB (0 means the start of the disk is blank) */
  nonZeroHeadBytes: number;
  /** /dev/mapper/<volume name> exists: the volume is open */
  mapped: boolean;
}

/** Host-wide facts that decide how the disks can be handled. */
export interface HostEncryptionFacts {
  host: string;
  deviceMapper: boolean;
  tools: { cryptsetup: boolean; clevis: boolean; clevisTang: boolean; clevisTpm2: boolean; curl: boolean; wipefs: boolean };
  /** a TPM is reachable: a device node, or a TCTI in the environment */
  tpm: boolean;
  /** /etc/crypttab as it is now ('' when absent) */
  crypttab: string;
  /** the data directory is a mount point now */
  mountActive: boolean;
  disks: DiskFacts[];
}

export type DiskAction = 'format' | 'rebind' | 'configure' | 'nothing' | 'refuse';

export interface DiskPlan {
  host: string;
  device: string;
  action: DiskAction;
  /** one line for the operator: what was found and what will happen */
  reason: string;
  /** format: the disk holds signatures that will be wiped (wipe: true) */
  wipes: string[];
  /** rebind: bindings to add, clevis slots to remove */
  addBinding: Binding | undefined;
  removeSlots: number[];
  /** the crypttab volume name of this disk */
  volume: string;
  /** its crypttab line is missing or differs */
  crypttabChange: boolean;
  /** LUKS UUID when the disk is already LUKS2 */
  luksUuid: string | undefined;
  /** open the volume (device-mapper here, not open yet) */
  open: boolean;
  /** mount the data directory on it (the host's first disk, opened, not mounted yet) */
  mount: boolean;
  /** existing clevis bindings, described */
  bound: string[];
}

export interface HostPlan {
  host: string;
  mode: HostEncryptionSettings['mode'];
  settings: HostEncryptionSettings;
  disks: DiskPlan[];
  /** the binding every disk of the host should carry (undefined: none, mode passphrase) */
  binding: Binding | undefined;
  /** why the host cannot be worked on at all (missing tools, no TPM, no device-mapper and no waiver) */
  blockers: string[];
  /** the volumes stay closed (no device-mapper, waived) */
  unopened: boolean;
}

export interface EncryptionPlan {
  hosts: HostPlan[];
}

/** What the keystore knows about a disk's recovery key (no value). */
export interface EscrowRecord {
  uuid: string | undefined;
}

/** A subset of the keystore API (installer/keystore): what escrow needs. */
export interface EscrowEntry {
  name: string;
  kind: string;
  value: string;
  meta?: Record<string, string>;
  createdAt?: string;
}
export interface EscrowStore {
  get(name: string): EscrowEntry | undefined;
  put(entry: EscrowEntry): void;
  save(): Promise<void>;
}
