/**
 * The hardening module's vocabulary: the state gathered from a host (one SSH
 * round trip), a rule (id, title, CIS reference, a pure check, a declarative
 * fix), and what a run says about each rule on each host. Rules never touch a
 * host: fixes are data that apply.ts turns into host changes.
 */

/** One file's mode and owner, as `stat -c '%a|%U|%G'` prints them. */
export interface FileStat {
  mode: number;
  owner: string;
  group: string;
}

export interface InstalledPackage {
  name: string;
  version: string;
  /** dpkg's status abbreviation: "ii" installed, "rc" removed with config left */
  status: string;
}

export interface HostState {
  host: string;
  /** systemd-detect-virt -c: "none" on a machine, else the container kind (systemd-nspawn, lxc, docker...) */
  container: string;
  /** the user palisade logs in as on this host */
  loginUser: string;
  /** `sshd -T` for palisade's user: lower-case keyword -> value(s) joined by a space */
  sshd: Record<string, string>;
  /** `sshd -T` with no Match applied: what every other account gets */
  sshdGlobal: Record<string, string>;
  /** `sshd -t` passed on the files as they are */
  sshdValid: boolean;
  sshdError?: string;
  /** what this host's OpenSSH supports (`ssh -Q`) */
  supported: { ciphers: string[]; macs: string[]; kex: string[] };
  /** stat of the files the rules look at (absent: the file does not exist) */
  files: Record<string, FileStat>;
  /** the first lines of small text files rules read (banners) */
  text: Record<string, string>;
  /** current kernel parameters and whether this host may write them */
  sysctl: Record<string, { value: string; writable: boolean }>;
  packages: Record<string, InstalledPackage>;
  /** systemctl is-enabled / is-active of the units rules look at (absent: no such unit) */
  units: Record<string, { enabled: string; active: string }>;
  /** world-writable regular files (first 200), and world-writable directories without the sticky bit */
  worldWritable: string[];
  worldWritableDirs: string[];
  /** files without a known owner or group (first 200) */
  unowned: string[];
  /** set-user/group-id executables (for the security scan) */
  suid: string[];
  /** /etc/login.defs settings the account rules read (key -> value) */
  loginDefs: Record<string, string>;
  /** `* hard core N` lines of the PAM limits files */
  coreLimits: string[];
  /** Storage= and ProcessSizeMax= lines of systemd-coredump's config, in the order systemd reads them */
  coredump: string[];
  /** TMOUT and `ulimit -c` lines of the login shells' profile (/etc/profile, /etc/profile.d/*.sh) */
  profile: string[];
  /** `install` and `blacklist` lines of /etc/modprobe.d/*.conf */
  modprobe: string[];
  /** the mounts of the directories the mount rules look at (absent: not a mount of its own) */
  mounts: Record<string, { fstype: string; options: string[] }>;
  /** accounts that can log in with a key today (a non-empty authorized keys file) */
  keyUsers: string[];
  /** /etc/os-release ID and VERSION_ID, and the package architecture (for SBOMs) */
  os: { id: string; version: string; arch: string };
  /** listening sockets "tcp 0.0.0.0:22" (for the security scan) */
  listening: string[];
  /** sections the probe could not read, with why */
  problems: string[];
}

export type RuleArea = 'ssh' | 'sysctl' | 'files' | 'software' | 'banner' | 'accounts' | 'kernel';

/** What a fix changes; apply.ts groups them per kind so each kind is one host change. */
export type Fix =
  /** directives for everyone; `forLoginUser` only for palisade's own user (a Match block) */
  | { kind: 'sshd'; directives: Record<string, string>; forLoginUser?: Record<string, string> }
  | { kind: 'sysctl'; key: string; value: string }
  | { kind: 'mode'; path: string; mode: number; owner: string; group: string }
  | { kind: 'file'; path: string; content: string; mode: number }
  | { kind: 'logindefs'; key: string; value: string }
  | { kind: 'modprobe'; module: string }
  | { kind: 'mount'; target: string; fstype: string; options: string[] }
  | { kind: 'purge'; packages: string[] }
  | { kind: 'disable'; units: string[] };

export type CheckStatus = 'pass' | 'fail' | 'na';

export interface CheckResult {
  status: CheckStatus;
  /** what was found, in the operator's words */
  detail: string;
  /** fail: what would make it right; na: why the rule cannot apply here */
  fixes?: Fix[];
  /** fail without an automatic fix: the operator has to look (world-writable files) */
  manual?: boolean;
}

export interface Rule {
  id: string;
  title: string;
  area: RuleArea;
  /** the CIS Debian Linux 12 Benchmark (v1.1.0) item it follows, when there is one */
  cis?: string;
  check(state: HostState): CheckResult;
}

/**
 * One rule on one host after a run:
 * right (nothing to do), fixed, would-fix (dry run), not-applicable (with the reason),
 * excepted (palisade.yaml says so, with its reason), manual (reported, not changed),
 * failed (the fix did not take; reason says why).
 */
export type OutcomeStatus = 'right' | 'fixed' | 'would-fix' | 'not-applicable' | 'excepted' | 'manual' | 'failed';

export interface RuleOutcome {
  host: string;
  rule: string;
  title: string;
  cis?: string;
  status: OutcomeStatus;
  detail: string;
  /** excepted: the operator's reason; failed: what went wrong */
  reason?: string;
}

export interface HardeningException {
  rule: string;
  reason: string;
  /** only on these hosts (default: every host) */
  hosts?: string[];
}
