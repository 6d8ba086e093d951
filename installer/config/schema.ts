import { isIP } from 'node:net';
import { z } from 'zod';
import { accessSchema } from './access.ts';
import { hardeningSchema } from './hardening.ts';

/**
 * palisade.yaml. Every field has a description: they become the JSON Schema
 * (`palisade config schema`) that editors use for completion and hover help.
 */

const hostName = z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'must be a lowercase DNS label (a-z, 0-9, "-", at most 63 characters)');

const fingerprint = z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'must be an OpenSSH SHA256 fingerprint like "SHA256:abc…" (43 base64 characters)');

const port = z.number().int().min(1, 'must be between 1 and 65535').max(65535, 'must be between 1 and 65535');

const ipv4 = z.string().regex(/^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/, 'must be an IPv4 address like 10.0.0.5');
const cidr = z.string().regex(/^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}\/(3[0-2]|[12]?\d)$/, 'must be an IPv4 CIDR like 10.42.0.0/16');
// An address reaches ssh and shell commands: only an IP or an RFC 1123 host name.
const rfc1123HostName = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
const address = z
  .string()
  .min(1, 'must not be empty')
  .refine((v) => isIP(v) !== 0 || rfc1123HostName.test(v), 'must be an IP address or an RFC 1123 host name (letters, digits, "-" and ".")')
  .describe('IP address or resolvable host name');
// The portable POSIX user name: letters, digits, ".", "_", "-", not starting with "-".
const userName = z
  .string()
  .regex(
    /^(?!\.{1,2}$)[A-Za-z0-9._][A-Za-z0-9._-]{0,31}$/,
    'must be a portable POSIX user name (letters, digits, ".", "_", "-"; not starting with "-"; at most 32 characters)',
  );
// A pattern, not zod's prefix check, which JSON Schema only has as a non-standard format.
const devicePath = z.string().regex(/^\/dev\//, 'must be a device path like /dev/sdb');
const absolutePath = z.string().regex(/^\//, 'must be an absolute path');

export const sshEndpointSchema = z.object({
  address: address,
  port: port.default(22).describe('SSH port'),
  user: userName.default('root').describe('SSH user; a non-root user needs sudo'),
  privateKey: z.string().min(1).optional().describe('path to the SSH private key (relative to this file); omit to use ssh-agent'),
  hostKey: fingerprint.optional().describe('pinned SSH host key fingerprint (SHA256:…); `palisade hosts trust` records it'),
});

export const tangServerSchema = z.object({
  url: z.string().url('must be a URL like http://10.0.0.2:7500').describe('Tang server URL'),
  thumbprint: z.string().min(16, 'must be the Tang signing key thumbprint (`tang-show-keys`)').describe('pinned thumbprint of the Tang signing key'),
});

export const encryptionSchema = z.object({
  mode: z.enum(['none', 'tpm2', 'tang', 'tpm2+tang', 'passphrase']).default('none').describe('how data disks are unlocked at boot'),
  disks: z.array(devicePath).optional().describe('disks to encrypt (default: the host dataDisk)'),
  tang: z.array(tangServerSchema).default([]).describe('Tang servers (modes tang and tpm2+tang)'),
  threshold: z.number().int().min(1).optional().describe('how many pins must agree (Shamir); default: all'),
  tpm2: z.object({ pcrs: z.array(z.number().int().min(0).max(23)).default([7]).describe('PCRs the TPM policy binds to') }).default({ pcrs: [7] }),
  wipe: z.boolean().default(false).describe('allow formatting a disk that holds a filesystem, partitions or another LUKS header (DESTROYS DATA)'),
  cipher: z.string().default('aes-xts-plain64'),
  pbkdf: z.enum(['argon2id', 'argon2i', 'pbkdf2']).default('argon2id'),
  allowUnopened: z.boolean().default(false).describe('accept hosts without device-mapper: disks are formatted and bound but not opened'),
  pbkdfMemoryKiB: z
    .number()
    .int()
    .min(32)
    .max(4194304)
    .optional()
    .describe('argon2 memory cost in KiB for the recovery key slot (default: cryptsetup benchmark)'),
  iterTimeMs: z.number().int().min(1).optional().describe('key-slot unlock time in ms the PBKDF is tuned to (default: cryptsetup, 2000)'),
  pbkdfIterations: z
    .number()
    .int()
    .min(4)
    .optional()
    .describe(
      "fixed PBKDF cost for the recovery key slot instead of cryptsetup's benchmark (argon2 passes, or pbkdf2 iterations, min 1000); the key is 256 random bits, so a low cost is safe; labs and slow hosts",
    ),
  mountPoint: absolutePath.optional().describe('where the first encrypted disk is mounted once opened (default /var/lib/palisade)'),
});

/**
 * A host's override: the same fields, none defaulted, so an omitted field keeps the
 * cluster value (a defaulted `wipe: false` or `tang: []` would silently replace it).
 */
export const encryptionOverrideSchema = z.object({
  ...Object.fromEntries(
    Object.entries(encryptionSchema.shape).map(([k, v]) => {
      const field = (v instanceof z.ZodDefault ? v.unwrap() : v).optional();
      return [k, v.description ? field.describe(v.description) : field];
    }),
  ),
  tpm2: z.object({ pcrs: z.array(z.number().int().min(0).max(23)).describe('PCRs the TPM policy binds to') }).optional(),
}) as unknown as z.ZodType<Partial<z.infer<typeof encryptionSchema>>, Partial<z.input<typeof encryptionSchema>>>;

export const hostSchema = sshEndpointSchema.extend({
  name: hostName.describe('host name, unique in the cluster'),
  role: z.enum(['controller', 'worker']).describe('controller runs the control plane; worker runs workloads'),
  dataDisk: devicePath.optional().describe('data disk device for appliance data'),
  viaJumpHost: z.boolean().default(false).describe('reach this host through the jump host'),
  encryption: encryptionOverrideSchema.optional().describe('per-host override of the cluster encryption settings'),
});

export const sizingSchema = z.object({
  profile: z.enum(['small', 'medium', 'large', 'custom']).default('small').describe('sizing profile the hosts are checked against'),
  custom: z
    .object({
      controller: z.object({ cpus: z.number().int().min(1), memoryGiB: z.number().positive(), diskGB: z.number().positive() }),
      worker: z.object({ cpus: z.number().int().min(1), memoryGiB: z.number().positive(), diskGB: z.number().positive() }),
    })
    .optional()
    .describe('thresholds for profile "custom"'),
});

export const maintenanceWindowSchema = z.object({
  days: z
    .array(z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']))
    .min(1)
    .describe('days the window starts on (in its time zone)'),
  start: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (24 h)')
    .describe('wall-clock start in the time zone; may end after midnight'),
  duration: z
    .string()
    .regex(/^(?=\d)(\d+h)?(\d+m)?$/, 'must be like "4h", "90m" or "1h30m"')
    .refine((s) => {
      const m = /^(?:(\d+)h)?(?:(\d+)m)?$/.exec(s);
      const min = m ? Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0) : 0;
      return min > 0 && min <= 7 * 24 * 60;
    }, 'must be more than 0 and at most 168h')
    .describe('elapsed length of the window (a DST change inside it does not stretch or shrink it)'),
  timezone: z.string().default('UTC').describe('IANA time zone, e.g. Europe/Berlin'),
});

export const configSchema = z
  .object({
    apiVersion: z.literal('palisade/v1').describe('config format version'),
    cluster: z.object({
      name: hostName.describe('cluster name; names the state directory .palisade/<name>'),
      fqdn: z
        .string()
        // no /i flag: JSON Schema patterns carry no flags, so the schema would differ
        .regex(
          /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/,
          'must be a fully qualified domain name like palisade.example.internal',
        )
        .describe('the appliance FQDN operators and clusters use'),
      vip: ipv4.optional().describe('virtual IP for the API and ingress (optional)'),
      podCidr: cidr.default('10.42.0.0/16'),
      serviceCidr: cidr.default('10.43.0.0/16'),
    }),
    airGapped: z.boolean().default(true).describe('the site has no route to the internet; preflight fails if it finds one'),
    sizing: sizingSchema.default({ profile: 'small' }),
    ssh: z
      .object({
        concurrency: z.number().int().min(1).max(256).default(10).describe('hosts worked on at once'),
        connectTimeoutSeconds: z.number().positive().default(10),
        commandTimeoutSeconds: z.number().positive().default(600),
        keepaliveSeconds: z.number().positive().default(15),
        knownHosts: z.string().optional().describe('an OpenSSH known_hosts file accepted as a trust source (read-only)'),
      })
      .default({ concurrency: 10, connectTimeoutSeconds: 10, commandTimeoutSeconds: 600, keepaliveSeconds: 15 }),
    jumpHost: sshEndpointSchema.optional().describe('bastion for hosts with viaJumpHost: true'),
    hosts: z.array(hostSchema).min(1, 'list at least one host'),
    encryption: encryptionSchema.default({
      mode: 'none',
      tang: [],
      tpm2: { pcrs: [7] },
      wipe: false,
      cipher: 'aes-xts-plain64',
      pbkdf: 'argon2id',
      allowUnopened: false,
    }),
    registry: z
      .object({
        port: port.default(5000),
        host: hostName.optional().describe('host that runs the pack registry (default: the first controller)'),
        storageDir: absolutePath
          .optional()
          .describe('registry storage root on the registry host, on the encrypted data disk (default /var/lib/palisade/registry)'),
      })
      .default({ port: 5000 }),
    bundle: z.object({ trustedKey: z.string().optional().describe('Ed25519 public key (PEM or path) that must have signed the bundle') }).default({}),
    maintenanceWindows: z.array(maintenanceWindowSchema).default([]).describe('upgrades run only inside these windows'),
    upgrade: z
      .object({
        workerConcurrency: z.number().int().min(1).max(64).default(1).describe('workers upgraded at once (controllers always go one at a time)'),
        drainTimeout: z
          .string()
          .regex(/^(?=\d)(\d+h)?(\d+m)?(\d+s)?$/, 'must be like "5m", "90s" or "1h"')
          .default('5m')
          .describe('how long a drain may wait for Pod Disruption Budgets before the upgrade stops'),
      })
      .default({ workerConcurrency: 1, drainTimeout: '5m' })
      .describe('rolling upgrades (`palisade upgrade`)'),
    backup: z
      .object({
        snapshotSchedule: z
          .string()
          .regex(/^\S+( \S+){4}$/, 'must be a 5-field cron expression like "0 */6 * * *"')
          .default('0 */6 * * *')
          .describe("when k3s snapshots its own datastore on each controller (k3s etcd-snapshot-schedule-cron; the hosts' local time)"),
        snapshotRetention: z
          .number()
          .int()
          .min(1)
          .max(1000)
          .default(12)
          .describe('scheduled snapshots k3s keeps on each controller (k3s etcd-snapshot-retention)'),
      })
      .default({ snapshotSchedule: '0 */6 * * *', snapshotRetention: 12 })
      .describe("k3s's own scheduled datastore snapshots; `palisade backup` writes the full, encrypted backup"),
    preflight: z.object({ ignore: z.array(z.string()).default([]).describe('check ids waived for this site') }).default({ ignore: [] }),
    access: accessSchema.optional().describe('tenants, projects and teams: OIDC sign-in and namespace RBAC (`palisade access`)'),
    hardening: hardeningSchema.default({ profile: 'baseline', exceptions: [] }).describe('host hardening (install and `palisade harden`)'),
  })
  .strict();

export type PalisadeConfig = z.infer<typeof configSchema>;
export type HostConfig = z.infer<typeof hostSchema>;
export type SshEndpoint = z.infer<typeof sshEndpointSchema>;
export type EncryptionConfig = z.infer<typeof encryptionSchema>;
export type Role = HostConfig['role'];
