import type { Command } from 'commander';
import { action, emit, parseOutputFormat, withOutput, type CommandModule } from './types.ts';
import { accessOptions, registryAccess, type RegistryAccessFlags } from './registry.ts';
import { printJson, renderTable } from '../core/output.ts';

// implementations load when a command runs, so other commands start faster
const load = {
  writer: () => import('../bundle/layout-writer.ts'),
  client: () => import('../registry/client.ts'),
  artifact: () => import('../bundle/pack/artifact.ts'),
  list: () => import('../registry/packs.ts'),
  pack: () => import('../bundle/pack/pack.ts'),
};

export const packCommands: CommandModule = {
  register(program: Command) {
    const pack = program.command('pack').description('packs (cluster profile layers): validate, build, list');

    withOutput(pack.command('validate'))
      .description('check a pack directory: pack.json, values.yaml, manifests/')
      .argument('<dir>', 'pack directory')
      .action(
        action(async (dir: string, o: { output: string }) => {
          parseOutputFormat(o.output);
          const p = await (await load.pack()).loadPack(dir);
          emit(
            o.output,
            { ok: true, dir, name: p.meta.name, version: p.meta.version, layer: p.meta.layer, files: p.files.length },
            `${dir} is a valid pack: ${p.meta.name} ${p.meta.version} (${p.meta.layer}), ${p.files.length} files`,
          );
        }),
      );

    withOutput(pack.command('build'))
      .description('build a pack into an OCI artifact in an image layout (as packs/<name>:<version>)')
      .argument('<dir>', 'pack directory')
      .requiredOption('--out <layout>', 'OCI image layout directory (created or added to)')
      .action(
        action(async (dir: string, o: { out: string; output: string }) => {
          parseOutputFormat(o.output);
          const p = await (await load.pack()).loadPack(dir);
          const art = await (await load.artifact()).buildPackArtifact(p);
          const w = await (await load.writer()).LayoutWriter.open(o.out);
          for (const [digest, data] of art.blobs) await w.writeBlob(data, digest);
          await w.writeBlob(art.manifestBytes, art.manifest.digest);
          w.tag(art.manifest, `${art.repository}:${art.tag}`);
          await w.close();
          emit(
            o.output,
            { ok: true, repository: art.repository, tag: art.tag, digest: art.manifest.digest, layout: o.out },
            `built ${art.repository}:${art.tag} ${art.manifest.digest} into ${o.out}`,
          );
        }),
      );

    accessOptions(pack.command('list').description("list the packs in a registry (default: the appliance's, found through -c)"))
      .option('-o, --output <format>', 'text or json', 'text')
      .action(
        action(async (o: RegistryAccessFlags & { output: string }) => {
          parseOutputFormat(o.output);
          const { RegistryClient } = await load.client();
          const client = new RegistryClient(await registryAccess(o));
          try {
            const packs = await (await load.list()).listPacks(client);
            if (o.output === 'json') return void printJson(packs);
            process.stdout.write(
              renderTable(
                ['LAYER', 'NAME', 'VERSION', 'DISPLAY NAME', 'DEPENDS ON', 'DIGEST'],
                packs.map((p) => [
                  p.layer,
                  p.name,
                  p.version,
                  p.displayName,
                  p.dependencies.map((d) => `${d.name} ${d.version}`).join(', '),
                  p.digest.slice(0, 19),
                ]),
              ) + '\n',
            );
          } finally {
            client.close();
          }
        }),
      );
  },
};
