/**
 * What a backup takes from the appliance's hosts: the LUKS header of every
 * encrypted data disk (staged on the host by `cryptsetup luksHeaderBackup`),
 * and the registry's index — every repository, tag, manifest and the blobs
 * they name — read through the registry API. Nothing here changes a host
 * beyond a private staging directory it removes.
 */
import type { PalisadeConfig } from '../config/schema.ts';
import { settleLimit } from '../core/limit.ts';
import { PalisadeError, errorMessage } from '../core/errors.ts';
import { sh } from '../core/quote.ts';
import { hostEncryptionSettings } from '../encryption/settings.ts';
import { isIndexType } from '../bundle/oci.ts';
import type { RemoteHost } from '../hosts/types.ts';
import type { RegistryClient } from '../registry/client.ts';
import { MEMBERS, type RegistryIndex } from './format.ts';
import type { BackupWriter } from './writer.ts';

export interface StagedHeader {
  host: string;
  device: string;
  /** where luksHeaderBackup wrote it on the host */
  path: string;
}

/** the encrypted data disks palisade.yaml names, per host */
export function encryptedDisks(config: PalisadeConfig): Array<{ host: string; device: string }> {
  return config.hosts.flatMap((h) => {
    const s = hostEncryptionSettings(config, h);
    return s.mode === 'none' ? [] : s.disks.map((device) => ({ host: h.name, device }));
  });
}

/**
 * `cryptsetup luksHeaderBackup` of every encrypted disk into a private staging directory on
 * its host. A disk that is not LUKS (not formatted yet) is skipped and reported.
 */
export async function stageLuksHeaders(config: PalisadeConfig, hosts: Map<string, RemoteHost>): Promise<{ staged: StagedHeader[]; skipped: string[] }> {
  const disks = encryptedDisks(config);
  const results = await settleLimit(disks, config.ssh.concurrency, async (d) => {
    const h = hosts.get(d.host);
    if (!h) throw new PalisadeError('backup.host', `${d.host} is not connected`);
    const r = await h.exec(
      sh`cryptsetup isLuks ${d.device} || { echo not-luks; exit 0; }; dir=$(mktemp -d /tmp/palisade-luks.XXXXXXXXXX); cryptsetup luksHeaderBackup ${d.device} --header-backup-file "$dir/header.img" && echo "$dir/header.img"`,
      { sudo: true },
    );
    const out = r.stdout.trim();
    if (out === 'not-luks') return undefined;
    if (r.code !== 0 || !out.startsWith('/tmp/palisade-luks.'))
      throw new PalisadeError(
        'backup.luks',
        `${d.host}: cryptsetup luksHeaderBackup ${d.device} failed: ${r.stderr.trim().split('\n').pop() ?? `exit ${r.code}`}`,
      );
    return { ...d, path: out };
  });
  const staged: StagedHeader[] = [];
  const skipped: string[] = [];
  const failed: string[] = [];
  results.forEach((r, i) => {
    const d = disks[i]!;
    if (r.status === 'rejected') failed.push(`${d.host} ${d.device}: ${errorMessage(r.reason)}`);
    else if (r.value) staged.push(r.value);
    else skipped.push(`${d.host} ${d.device}`);
  });
  if (failed.length) {
    await removeStaged(hosts, staged);
    throw new PalisadeError('backup.luks', `cannot back up ${failed.length} LUKS header(s)`, {
      details: failed.map((message) => ({ message })),
      hint: 'a backup without the headers cannot bring back a disk whose header is damaged; fix the hosts and run it again',
    });
  }
  return { staged, skipped };
}

export async function removeStaged(hosts: Map<string, RemoteHost>, staged: readonly StagedHeader[]): Promise<void> {
  await Promise.all(
    staged.map((s) => {
      const dir = s.path.replace(/\/header\.img$/, '');
      return dir.startsWith('/tmp/palisade-luks.')
        ? hosts
            .get(s.host)
            ?.exec(sh`rm -rf -- ${dir}`, { sudo: true })
            .catch(() => undefined)
        : undefined;
    }),
  );
}

interface ManifestBody {
  mediaType?: string;
  config?: { digest: string; size: number };
  layers?: Array<{ digest: string; size: number }>;
  manifests?: Array<{ digest: string; size: number; mediaType?: string }>;
}

/** Every repository and tag, each manifest (children of indexes too) and each blob, with digests and sizes. */
export async function registryIndex(client: RegistryClient): Promise<{ index: RegistryIndex; manifestBytes: Map<string, Buffer> }> {
  const index: RegistryIndex = { repositories: [], manifests: [], blobs: [] };
  const manifestBytes = new Map<string, Buffer>();
  const seenBlobs = new Set<string>();
  const walk = async (repo: string, ref: string): Promise<{ digest: string; mediaType: string }> => {
    const m = await client.getManifest(repo, ref);
    if (!m) throw new PalisadeError('backup.registry', `${repo}:${ref} is listed by the registry but its manifest is missing`);
    const key = `${repo}@${m.digest}`;
    if (manifestBytes.has(key)) return m;
    manifestBytes.set(key, m.bytes);
    const body = JSON.parse(m.bytes.toString('utf8')) as ManifestBody;
    const mediaType = m.mediaType || body.mediaType || '';
    index.manifests.push({ repository: repo, digest: m.digest, mediaType, size: m.bytes.length });
    if (isIndexType(mediaType) || body.manifests) {
      for (const child of body.manifests ?? []) await walk(repo, child.digest);
    } else {
      for (const b of [...(body.config ? [body.config] : []), ...(body.layers ?? [])]) {
        if (seenBlobs.has(`${repo}@${b.digest}`)) continue;
        seenBlobs.add(`${repo}@${b.digest}`);
        index.blobs.push({ repository: repo, digest: b.digest, size: b.size });
      }
    }
    return { digest: m.digest, mediaType };
  };
  for (const repo of (await client.catalog()).sort()) {
    const tags: RegistryIndex['repositories'][number]['tags'] = [];
    for (const tag of (await client.tags(repo)).sort()) tags.push({ tag, ...(await walk(repo, tag)) });
    index.repositories.push({ name: repo, tags });
  }
  return { index, manifestBytes };
}

/** --with-registry: every manifest and blob once (content-addressed), streamed from the registry, digests checked. */
export async function addRegistryBlobs(
  writer: BackupWriter,
  client: RegistryClient,
  reg: { index: RegistryIndex; manifestBytes: Map<string, Buffer> },
  progress: (line: string) => void = () => undefined,
): Promise<void> {
  const have = new Set(writer.members.map((m) => m.path));
  for (const m of reg.index.manifests) {
    m.member = MEMBERS.blob(m.digest);
    if (have.has(m.member)) continue;
    await writer.addBuffer(m.member, reg.manifestBytes.get(`${m.repository}@${m.digest}`)!);
    have.add(m.member);
  }
  let n = 0;
  for (const b of reg.index.blobs) {
    b.member = MEMBERS.blob(b.digest);
    if (have.has(b.member)) continue;
    progress(`registry blobs: ${++n}`);
    const rec = await writer.addStream(b.member, b.size, await client.getBlob(b.repository, b.digest));
    if (`sha256:${rec.sha256}` !== b.digest) throw new PalisadeError('backup.registry', `registry blob ${b.digest} arrived with digest sha256:${rec.sha256}`);
    have.add(b.member);
  }
}
