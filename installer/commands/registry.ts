import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { action, type CommandModule } from './types.ts';
import { DEFAULT_CONFIG_PATH } from '../config/load.ts';
import { PalisadeError, usageError } from '../core/errors.ts';
import { log, redact } from '../core/log.ts';
import { printJson, renderTable } from '../core/output.ts';
import type { RegistryClientOptions } from '../registry/client.ts';

// implementations load when a command runs, so other commands start faster
const load = {
  trust: () => import('../bundle/trust.ts'),
  client: () => import('../registry/client.ts'),
  progress: () => import('../registry/progress.ts'),
  seed: () => import('../registry/seed.ts'),
  verify: () => import('../registry/verify.ts'),
};

export interface RegistryAccessFlags {
  registry: string;
  ca?: string;
  username?: string;
  passwordFile?: string;
  tokenRealm?: string;
}

/** Registry URL, CA and credentials from flags; the password from a file or PALISADE_REGISTRY_PASSWORD, never argv. */
export async function registryAccess(o: RegistryAccessFlags): Promise<RegistryClientOptions> {
  let ca: Buffer | undefined;
  if (o.ca) {
    try {
      ca = await readFile(o.ca);
    } catch (e) {
      throw usageError('registry.ca', `cannot read CA file ${o.ca} (${(e as NodeJS.ErrnoException).code ?? 'error'})`, "give the PEM of the CA that issued the registry's certificate");
    }
  }
  let password: string | undefined;
  if (o.passwordFile) {
    try {
      password = (await readFile(o.passwordFile, 'utf8')).replace(/\r?\n$/, '');
    } catch (e) {
      throw usageError('registry.password', `cannot read password file ${o.passwordFile} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  } else if (process.env.PALISADE_REGISTRY_PASSWORD) password = process.env.PALISADE_REGISTRY_PASSWORD;
  if (password) redact.add(password);
  if (password !== undefined && !o.username) throw usageError('registry.username', 'a registry password was given without --username');
  return { url: o.registry, ...(ca ? { ca } : {}), ...(o.username ? { username: o.username } : {}), ...(password !== undefined ? { password } : {}), ...(o.tokenRealm ? { tokenRealm: o.tokenRealm } : {}) };
}

function accessOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--registry <url>', 'registry URL, https://host:port')
    .option('--ca <file>', "PEM of the CA that issued the registry's certificate")
    .option('--username <name>', 'registry user')
    .option('--password-file <file>', 'file holding the password (or set PALISADE_REGISTRY_PASSWORD)')
    .option('--token-realm <url>', "https URL of the registry's token service, when it is on another address (the credentials go only to the registry and this service)");
}

const positiveInt = (v: string, flag: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw usageError('usage.number', `${flag} must be a whole number from 1 to 64`);
  return n;
};

export const registryCommands: CommandModule = {
  register(program: Command) {
    const reg = program.command('registry').description('the pack registry: seed it from a bundle, verify it, list it');

    accessOptions(reg.command('seed').description('push every image and pack of a bundle into a registry (missing blobs only; resumable)'))
      .requiredOption('--bundle <path>', 'bundle directory or .tar')
      .option('--trusted-key <pem-or-file>', 'public key the bundle must be signed by (default: bundle.trustedKey in palisade.yaml)')
      .option('-c, --config <file>', 'config file to read bundle.trustedKey from')
      .option('--concurrency <n>', 'blobs transferred at once', '4')
      .option('-o, --output <format>', 'text or json', 'text')
      .action(
        action(async (o: RegistryAccessFlags & { bundle: string; trustedKey?: string; config?: string; concurrency: string; output: string }) => {
          const access = await registryAccess(o);
          const { formatBytes, progressRenderer } = await load.progress();
          const trustedKey = await (await load.trust()).resolveTrustedKey({ ...(o.trustedKey ? { trustedKey: o.trustedKey } : {}), config: o.config ?? DEFAULT_CONFIG_PATH, configExplicit: o.config !== undefined });
          const progress = progressRenderer(process.stderr, { ...(o.output === 'json' || log.level === 'error' ? { intervalMs: 1e9 } : {}) });
          let r;
          try {
            r = await (await load.seed()).seedRegistry({ ...access, bundle: o.bundle, trustedKey, concurrency: positiveInt(o.concurrency, '--concurrency'), onProgress: (p) => progress.update(p) });
          } finally {
            progress.finish();
          }
          if (o.output === 'json') return void printJson(r);
          process.stdout.write(
            `seeded ${r.registry}: ${r.images} images, ${r.packs} packs; blobs ${r.blobs.uploaded} uploaded, ${r.blobs.mounted} mounted, ${r.blobs.present} already there; ` +
              `manifests ${r.manifests.pushed} pushed, ${r.manifests.present} already there; ${formatBytes(r.bytes.uploaded)} in ${(r.durationMs / 1000).toFixed(1)} s\n`,
          );
        }),
      );

    accessOptions(reg.command('verify').description('check the registry holds every manifest and blob of a bundle, with the right digests'))
      .requiredOption('--bundle <path>', 'bundle directory or .tar')
      .option('--deep', 'also download and hash every blob')
      .option('-o, --output <format>', 'text or json', 'text')
      .action(
        action(async (o: RegistryAccessFlags & { bundle: string; deep?: boolean; output: string }) => {
          const r = await (await load.verify()).verifyRegistry({ ...(await registryAccess(o)), bundle: o.bundle, deep: o.deep === true });
          if (o.output === 'json') {
            printJson(r);
            return r.ok ? 0 : 1;
          }
          if (!r.ok) {
            throw new PalisadeError('registry.incomplete', `registry ${r.registry} is missing or has wrong content for ${r.problems.length} item(s) of the bundle`, {
              hint: 'run `palisade registry seed` with the same bundle; it pushes only what is missing',
              details: r.problems.map((p) => ({ path: `${p.repository} ${p.ref}`, message: p.message })),
            });
          }
          process.stdout.write(`OK ${r.registry}: ${r.images} images and packs, ${r.manifests} manifests, ${r.blobs} blobs present${o.deep ? ' and hashed' : ''} (${(r.durationMs / 1000).toFixed(1)} s)\n`);
          return 0;
        }),
      );

    accessOptions(reg.command('catalog').description('list the repositories and tags in a registry'))
      .option('-o, --output <format>', 'text or json', 'text')
      .action(
        action(async (o: RegistryAccessFlags & { output: string }) => {
          const { RegistryClient } = await load.client();
          const client = new RegistryClient(await registryAccess(o));
          try {
            const repos = await client.catalog();
            const rows: Array<{ repository: string; tags: string[] }> = [];
            for (const r of repos) rows.push({ repository: r, tags: await client.tags(r) });
            if (o.output === 'json') return void printJson(rows);
            process.stdout.write(renderTable(['REPOSITORY', 'TAGS'], rows.map((r) => [r.repository, r.tags.join(', ')])) + '\n');
          } finally {
            client.close();
          }
        }),
      );
  },
};
