/**
 * takeBackup: one encrypted file that can bring the appliance back on the
 * same or replacement hosts. The datastore snapshot is taken on the first
 * controller the way k3s documents it and brought back over SFTP with its
 * checksum checked; the LUKS headers, the registry index (and with
 * withRegistry its blobs), the cluster token, the keystore, palisade.yaml,
 * the state directory and the pinned host keys go in beside it; the manifest
 * comes last. The file appears only when complete. `palisade upgrade` calls
 * this before it touches a host; keep the signature stable.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { buildInfo } from '../core/build-info.ts';
import { hostname } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { k3sDriver } from '../cluster/k3s.ts';
import type { ClusterDriver } from '../cluster/types.ts';
import type { LoadedConfig } from '../config/load.ts';
import { writeFileAtomic } from '../core/atomic.ts';
import { PalisadeError } from '../core/errors.ts';
import { closeAll, connectHosts } from '../hosts/index.ts';
import { viaHost } from '../hosts/tunnel.ts';
import type { RemoteHost } from '../hosts/types.ts';
import { keystorePath, openKeystore } from '../keystore/index.ts';
import type { Keystore } from '../keystore/types.ts';
import { KEY_NAMES } from '../pki/keyset.ts';
import { RegistryClient } from '../registry/client.ts';
import { stateDir } from '../state/paths.ts';
import { checkRecipient, type SealKey } from './age.ts';
import { addRegistryBlobs, registryIndex, removeStaged, stageLuksHeaders } from './collect.ts';
import { BACKUP_FORMAT, backupFileName, BACKUP_SUFFIX, metaPathOf, MEMBERS, type BackupHeader, type BackupMeta } from './format.ts';
import { pruneBackups } from './list.ts';
import { BackupWriter } from './writer.ts';

export interface BackupOptions {
  /** a file, or a directory to write palisade-<cluster>-<time>.backup.age into (default: backups/ beside palisade.yaml) */
  out?: string;
  /** the registry's blobs too, so the archive re-seeds a registry without the bundle */
  withRegistry?: boolean;
  /** then remove all but the newest N backups of this cluster in that directory */
  keep?: number;
  /** seal to these age X25519 recipients instead of the keystore passphrase */
  recipients?: string[];
  /** the keystore passphrase (the keystore is read for the token and the registry credentials) */
  passphrase: () => Promise<string>;
  /** connections to reuse (upgrade holds its own); otherwise every host is connected and closed again */
  hosts?: Map<string, RemoteHost>;
  driver?: ClusterDriver;
  /** why it was taken ("before upgrade to 1.2.0"), kept in the header */
  reason?: string;
  onProgress?: (line: string) => void;
  /** scrypt work factor of the passphrase seal (tests use a low one) */
  workFactor?: number;
}

export interface BackupResult {
  path: string;
  /** the side file `backup list` reads */
  metaPath: string;
  bytes: number;
  sha256: string;
  members: number;
  header: BackupHeader;
  /** LUKS disks named in palisade.yaml that are not formatted yet */
  skippedDisks: string[];
  pruned: string[];
  durationMs: number;
}

const palisadeVersion = (): string => buildInfo().version;

/** a directory given (or the default) gets a generated name; a file name is used as given */
export function resolveOut(loaded: LoadedConfig, out: string | undefined, at: Date): string {
  const name = backupFileName(loaded.config.cluster.name, at);
  if (!out) return join(loaded.baseDir, 'backups', name);
  const p = isAbsolute(out) ? out : resolve(out);
  return p.endsWith('/') || !basename(p).includes('.') ? join(p, name) : p;
}

async function isDir(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

function firstController(loaded: LoadedConfig) {
  const c = loaded.config.hosts.find((h) => h.role === 'controller');
  if (!c) throw new PalisadeError('backup.config', 'palisade.yaml names no controller: there is no datastore to back up', { exitCode: 2 });
  return c;
}

function registryClient(loaded: LoadedConfig, ks: Keystore, hosts: Map<string, RemoteHost>): RegistryClient {
  const c = loaded.config;
  const regHost = c.hosts.find((h) => h.name === c.registry.host) ?? firstController(loaded);
  const creds = ks.get(KEY_NAMES.registryCredentials);
  const ca = ks.get(KEY_NAMES.rootCa)?.meta?.cert;
  if (!creds || !ca)
    throw new PalisadeError('backup.keystore', 'the keystore holds no registry credentials or CA: the appliance is not installed yet', {
      hint: 'run `palisade install` first',
    });
  const h = hosts.get(regHost.name);
  return new RegistryClient({
    url: `https://${regHost.address}:${c.registry.port}`,
    ca,
    username: creds.meta?.username ?? '',
    password: creds.value,
    attempts: 3,
    ...(regHost.viaJumpHost && h ? { connect: viaHost(h) } : {}),
  });
}

/** Files of the state directory that belong in a backup (not locks, temp files or earlier backups). */
async function stateFilesToKeep(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const out: string[] = [];
  for (const n of names.sort()) {
    if (n.endsWith('.lock') || n.endsWith('.tmp') || n.startsWith('.') || n.endsWith(BACKUP_SUFFIX) || n === 'restore.json') continue;
    if ((await stat(join(dir, n))).isFile()) out.push(n);
  }
  return out;
}

async function bundleVersion(dir: string): Promise<string | undefined> {
  try {
    const r = JSON.parse(await readFile(join(dir, 'install-report.json'), 'utf8')) as { bundle?: { version?: string } };
    return r.bundle?.version;
  } catch {
    return undefined;
  }
}

export async function takeBackup(loaded: LoadedConfig, opts: BackupOptions): Promise<BackupResult> {
  const t0 = performance.now();
  const { config } = loaded;
  const progress = opts.onProgress ?? (() => undefined);
  const at = new Date();
  let out = resolveOut(loaded, opts.out, at);
  if (await isDir(out)) out = join(out, backupFileName(config.cluster.name, at));
  const recipients = (opts.recipients ?? []).map(checkRecipient);
  const sdir = stateDir(loaded.baseDir, config.cluster.name);
  const ksPath = keystorePath(loaded.baseDir, config.cluster.name);
  const passphrase = await opts.passphrase();
  const ks = await openKeystore(ksPath, { passphrase });
  const token = ks.get(KEY_NAMES.joinToken)?.value;
  if (!token)
    throw new PalisadeError('backup.keystore', `the keystore ${ksPath} holds no cluster token: the appliance is not installed yet`, {
      hint: 'run `palisade install` first',
    });
  const seal: SealKey = recipients.length ? { recipients } : { passphrase, ...(opts.workFactor ? { workFactor: opts.workFactor } : {}) };
  const driver = opts.driver ?? k3sDriver;
  const first = firstController(loaded);

  const own = !opts.hosts;
  let hosts = opts.hosts ?? new Map<string, RemoteHost>();
  if (own) {
    progress('connecting to the hosts');
    const c = await connectHosts(config, loaded.baseDir);
    hosts = c.hosts;
    if (c.failures.length) {
      await closeAll(hosts);
      throw new PalisadeError(
        'backup.connect',
        `${c.failures.length} host(s) could not be reached: ${c.failures.map((f) => f.name).join(', ')}; no backup was written`,
        {
          details: c.failures.map((f) => ({ path: f.name, message: f.error.message, ...(f.error.hint ? { hint: f.error.hint } : {}) })),
          hint: 'a backup needs every host (the LUKS headers are on each); bring them back and run it again',
        },
      );
    }
  }
  const api = hosts.get(first.name);
  let writer: BackupWriter | undefined;
  let staged: Awaited<ReturnType<typeof stageLuksHeaders>> | undefined;
  try {
    if (!api) throw new PalisadeError('backup.host', `${first.name} (the first controller) is not connected`);
    if (!api.download) throw new PalisadeError('backup.transport', `${first.name}: this connection cannot bring files back`);
    progress(`${first.name}: k3s etcd-snapshot save`);
    const snap = await driver.snapshot(api, `palisade-backup`);
    const clusterVersion = await driver.version(api).catch(() => undefined);
    progress('LUKS header backups');
    staged = await stageLuksHeaders(config, hosts);
    const client = registryClient(loaded, ks, hosts);
    let reg: Awaited<ReturnType<typeof registryIndex>>;
    try {
      progress('registry index');
      reg = await registryIndex(client);
    } catch (e) {
      client.close();
      throw e;
    }
    const bv = await bundleVersion(sdir);
    const header: BackupHeader = {
      apiVersion: BACKUP_FORMAT,
      cluster: config.cluster.name,
      fqdn: config.cluster.fqdn,
      createdAt: at.toISOString(),
      takenFrom: { admin: hostname(), controller: first.name },
      versions: { palisade: palisadeVersion(), ...(clusterVersion ? { cluster: clusterVersion } : {}), ...(bv ? { bundle: bv } : {}) },
      withRegistry: !!opts.withRegistry,
      hosts: config.hosts.map((h) => ({ name: h.name, role: h.role, address: h.address })),
      snapshot: { member: MEMBERS.snapshot(snap.name), name: snap.name },
      luksHeaders: staged.staged.map((s) => ({ host: s.host, device: s.device, member: MEMBERS.luksHeader(s.host, s.device) })),
      ...(opts.reason ? { reason: opts.reason } : {}),
    };
    writer = await BackupWriter.create(out, seal);
    await writer.addBuffer(MEMBERS.header, `${JSON.stringify(header, null, 2)}\n`);
    await writer.addFile(MEMBERS.config, loaded.path);
    await writer.addBuffer(MEMBERS.token, token);
    for (const f of await stateFilesToKeep(sdir)) await writer.addFile(MEMBERS.state(f), join(sdir, f));
    await writer.addBuffer(MEMBERS.hostKeys, `${JSON.stringify(Object.fromEntries(config.hosts.map((h) => [h.name, h.hostKey ?? null])), null, 2)}\n`);
    progress(`${first.name}: ${snap.name} (${snap.size} bytes) over SFTP`);
    await fetchChecked(writer, api, snap.path, header.snapshot.member);
    for (const s of staged.staged) await fetchChecked(writer, hosts.get(s.host)!, s.path, MEMBERS.luksHeader(s.host, s.device));
    try {
      if (opts.withRegistry) await addRegistryBlobs(writer, client, reg, progress);
    } finally {
      client.close();
    }
    await writer.addBuffer(MEMBERS.registryIndex, `${JSON.stringify(reg.index, null, 2)}\n`);
    const written = await writer.finish(header);
    writer = undefined;
    const meta: BackupMeta = {
      apiVersion: BACKUP_FORMAT,
      file: basename(out),
      cluster: header.cluster,
      createdAt: header.createdAt,
      versions: header.versions,
      withRegistry: header.withRegistry,
      bytes: written.bytes,
      sha256: written.sha256,
      members: written.manifest.members.length,
      sealedTo: recipients.length ? 'recipients' : 'passphrase',
    };
    await writeFileAtomic(metaPathOf(out), `${JSON.stringify(meta, null, 2)}\n`, { mode: 0o600 });
    const pruned = opts.keep !== undefined ? await pruneBackups(dirname(out), config.cluster.name, opts.keep) : [];
    return {
      path: out,
      metaPath: metaPathOf(out),
      bytes: written.bytes,
      sha256: written.sha256,
      members: written.manifest.members.length,
      header,
      skippedDisks: staged.skipped,
      pruned,
      durationMs: Math.round(performance.now() - t0),
    };
  } finally {
    await writer?.abort();
    if (staged) await removeStaged(hosts, staged.staged);
    if (own) await closeAll(hosts);
  }
}

/** A file from a host into the archive, its SHA-256 held to the one the host computed. */
async function fetchChecked(writer: BackupWriter, host: RemoteHost, path: string, member: string): Promise<void> {
  const f = await host.download!(path, { sudo: true });
  try {
    const rec = await writer.addStream(member, f.size, f.stream);
    if (rec.sha256 !== f.sha256)
      throw new PalisadeError(
        'backup.transfer',
        `${host.name}:${path} arrived with SHA-256 ${rec.sha256.slice(0, 12)}…, the host has ${f.sha256.slice(0, 12)}…; no backup was written`,
        { hint: 'check the network and the host, then run it again' },
      );
  } finally {
    await f.close();
  }
}
