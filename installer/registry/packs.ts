import type { RegistryClient } from './client.ts';
import { PACK_MT } from '../bundle/pack/artifact.ts';
import { packJsonSchema, type PackJson } from '../bundle/pack/pack.ts';
import { manifestSchema } from '../bundle/oci.ts';
import { readAll } from '../bundle/open.ts';
import { mapLimit } from '../core/limit.ts';

export interface RegistryPack extends PackJson {
  repository: string;
  tag: string;
  digest: string;
}

/** Every pack in a registry: repositories under packs/, each tag's manifest, its pack.json config. */
export async function listPacks(client: RegistryClient): Promise<RegistryPack[]> {
  const repos = (await client.catalog()).filter((r) => r.startsWith('packs/'));
  const refs: Array<{ repo: string; tag: string }> = [];
  for (const repo of repos) for (const tag of await client.tags(repo)) refs.push({ repo, tag });
  const found = await mapLimit(refs, 4, async ({ repo, tag }) => {
    const m = await client.getManifest(repo, tag);
    if (!m) return undefined;
    const parsed = manifestSchema.safeParse(JSON.parse(m.bytes.toString('utf8')));
    if (!parsed.success || parsed.data.config.mediaType !== PACK_MT.config) return undefined;
    const config = await readAll(await client.getBlob(repo, parsed.data.config.digest), 1 << 20);
    const meta = packJsonSchema.safeParse(JSON.parse(config.toString('utf8')));
    if (!meta.success) return undefined;
    return { ...meta.data, repository: repo, tag, digest: m.digest };
  });
  return found.filter((x): x is RegistryPack => x !== undefined).sort((a, b) => a.layer.localeCompare(b.layer) || a.name.localeCompare(b.name));
}
