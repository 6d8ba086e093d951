/**
 * What a backup file is, as data: the names of its members (a tar stream
 * inside age), the header that comes first and the manifest that comes last,
 * the side file `backup list` reads, and the file names. Pure: no I/O.
 */
import { z } from 'zod';

export const BACKUP_FORMAT = 'palisade/backup-v1';
export const BACKUP_SUFFIX = '.backup.age';
/** beside each backup: what `backup list` shows without opening it (nothing secret) */
export const META_SUFFIX = '.meta.json';

export const MEMBERS = {
  /** first member: read without going through the whole file */
  header: 'palisade-backup.json',
  config: 'config/palisade.yaml',
  token: 'secrets/cluster-token',
  keystore: 'state/keystore.json',
  hostKeys: 'hostkeys.json',
  registryIndex: 'registry/index.json',
  /** last member: every other member with its size and SHA-256 */
  manifest: 'MANIFEST.json',
  state: (file: string) => `state/${file}`,
  snapshot: (name: string) => `datastore/${name}`,
  luksHeader: (host: string, device: string) => `luks/${host}/${device.replace(/^\/dev\//, '').replace(/\//g, '_')}.img`,
  blob: (digest: string) => `registry/blobs/${digest.replace(':', '/')}`,
} as const;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);

export const headerSchema = z.object({
  apiVersion: z.literal(BACKUP_FORMAT),
  cluster: z.string(),
  fqdn: z.string(),
  createdAt: z.string(),
  takenFrom: z.object({ admin: z.string(), controller: z.string() }),
  versions: z.object({ palisade: z.string(), cluster: z.string().optional(), bundle: z.string().optional() }),
  withRegistry: z.boolean(),
  hosts: z.array(z.object({ name: z.string(), role: z.string(), address: z.string() })),
  /** the snapshot member and what the cluster called it */
  snapshot: z.object({ member: z.string(), name: z.string() }),
  /** encrypted data disks whose LUKS header is in the backup */
  luksHeaders: z.array(z.object({ host: z.string(), device: z.string(), member: z.string() })),
  reason: z.string().optional(),
});
export type BackupHeader = z.infer<typeof headerSchema>;

export const memberSchema = z.object({ path: z.string(), size: z.number().int().min(0), sha256: hex64 });
export type MemberRecord = z.infer<typeof memberSchema>;

export const manifestSchema = headerSchema.extend({ members: z.array(memberSchema) });
export type BackupManifest = z.infer<typeof manifestSchema>;

export const metaSchema = z.object({
  apiVersion: z.literal(BACKUP_FORMAT),
  file: z.string(),
  cluster: z.string(),
  createdAt: z.string(),
  versions: headerSchema.shape.versions,
  withRegistry: z.boolean(),
  /** the .age file */
  bytes: z.number().int(),
  sha256: hex64,
  members: z.number().int(),
  sealedTo: z.enum(['passphrase', 'recipients']),
});
export type BackupMeta = z.infer<typeof metaSchema>;

/** The registry's contents: every repository and tag, the manifests (by digest) and the blobs they name. */
export interface RegistryIndex {
  repositories: Array<{ name: string; tags: Array<{ tag: string; digest: string; mediaType: string }> }>;
  manifests: Array<{ repository: string; digest: string; mediaType: string; size: number; member?: string }>;
  blobs: Array<{ repository: string; digest: string; size: number; member?: string }>;
}

/** palisade-<cluster>-20261201T072000Z.backup.age: sorts by time, says what it is */
export function backupFileName(cluster: string, at: Date): string {
  return `palisade-${cluster}-${at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}${BACKUP_SUFFIX}`;
}

export const metaPathOf = (backupPath: string): string => `${backupPath}${META_SUFFIX}`;

/** Member paths that could escape a directory when extracted, or are not ours. */
export function unsafeMemberPath(p: string): boolean {
  return p.startsWith('/') || p.split('/').some((s) => s === '..' || s === '') || /[\0\\]/.test(p);
}

/** The first `keep` backups by time are kept; the others are returned (oldest last). */
export function backupsToPrune<T extends { createdAt: string }>(backups: readonly T[], keep: number): T[] {
  return [...backups].sort((a, b) => b.createdAt.localeCompare(a.createdAt)).slice(Math.max(0, keep));
}

/** "1.2.3" > "1.2.0"; a pre-release or build suffix is compared after the numbers. Undefined when either cannot be read. */
export function compareVersions(a: string, b: string): number | undefined {
  const parse = (v: string) => /^v?(\d+)\.(\d+)\.(\d+)(.*)$/.exec(v.trim());
  const x = parse(a);
  const y = parse(b);
  if (!x || !y) return undefined;
  for (let i = 1; i <= 3; i++) {
    const d = Number(x[i]) - Number(y[i]);
    if (d) return Math.sign(d);
  }
  return x[4] === y[4] ? 0 : x[4]! < y[4]! ? -1 : 1;
}
