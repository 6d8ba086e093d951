import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { action, parseOutputFormat, type CommandModule } from './types.ts';
import { DEFAULT_CONFIG_PATH } from '../config/paths.ts';
import { PalisadeError, usageError } from '../core/errors.ts';
import { log, redact } from '../core/log.ts';
import { secretEnv } from '../core/secret-env.ts';
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
  /** absent: the appliance's registry, found through -c */
  registry?: string;
  config?: string;
  passphraseFile?: string;
  ca?: string;
  username?: string;
  passwordFile?: string;
  tokenRealm?: string;
}

/**
 * Registry URL, CA and credentials. Without --registry: the appliance's registry
 * from palisade.yaml (-c) with its CA and credentials from the keystore. With it:
 * from the flags, the password from a file or PALISADE_REGISTRY_PASSWORD, never argv.
 */
export async function registryAccess(o: RegistryAccessFlags): Promise<RegistryClientOptions> {
  if (!o.registry) {
    const site = await siteAccess(o);
    return {
      url: site.url,
      ca: Buffer.from(site.caPem),
      username: site.username,
      password: site.password,
      ...(o.tokenRealm ? { tokenRealm: o.tokenRealm } : {}),
    };
  }
  let ca: Buffer | undefined;
  if (o.ca) {
    try {
      ca = await readFile(o.ca);
    } catch (e) {
      throw usageError(
        'registry.ca',
        `cannot read CA file ${o.ca} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
        "give the PEM of the CA that issued the registry's certificate",
      );
    }
  }
  let password: string | undefined;
  if (o.passwordFile) {
    try {
      password = (await readFile(o.passwordFile, 'utf8')).replace(/\r?\n$/, '');
    } catch (e) {
      throw usageError('registry.password', `cannot read password file ${o.passwordFile} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  } else password = secretEnv('PALISADE_REGISTRY_PASSWORD');
  if (password) redact.add(password);
  if (password !== undefined && !o.username) throw usageError('registry.username', 'a registry password was given without --username');
  return {
    url: o.registry,
    ...(ca ? { ca } : {}),
    ...(o.username ? { username: o.username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(o.tokenRealm ? { tokenRealm: o.tokenRealm } : {}),
  };
}

/** The appliance's registry: endpoint from the config, CA and credentials from its keystore. */
export async function siteAccess(o: { config?: string; passphraseFile?: string }): Promise<import('../registry/site.ts').SiteRegistry> {
  const [{ openClusterKeystore }, { siteRegistry }] = await Promise.all([import('../actions/keys.ts'), import('../registry/site.ts')]);
  const c = await openClusterKeystore(
    { config: o.config ?? DEFAULT_CONFIG_PATH, ...(o.passphraseFile ? { passphraseFile: o.passphraseFile } : {}) },
    { needConfig: true },
  );
  const site = siteRegistry(c.loaded!.config, c.ks);
  redact.add(site.password);
  return site;
}

export function accessOptions(cmd: Command): Command {
  return cmd
    .option(
      '-c, --config <file>',
      "config file: the appliance's registry, its CA and credentials (from the keystore) when --registry is not given",
      DEFAULT_CONFIG_PATH,
    )
    .option('--passphrase-file <file>', 'file holding the keystore passphrase (or set PALISADE_PASSPHRASE; a terminal prompts)')
    .option('--registry <url>', "another registry's URL, https://host:port (then --ca, --username, --password-file say how to reach it)")
    .option('--ca <file>', "PEM of the CA that issued the registry's certificate")
    .option('--username <name>', 'registry user')
    .option('--password-file <file>', 'file holding the password (or set PALISADE_REGISTRY_PASSWORD)')
    .option(
      '--token-realm <url>',
      "https URL of the registry's token service, when it is on another address (the credentials go only to the registry and this service)",
    );
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
      .option('--concurrency <n>', 'blobs transferred at once', '4')
      .option('-o, --output <format>', 'text or json', 'text')
      .action(
        action(async (o: RegistryAccessFlags & { bundle: string; trustedKey?: string; config?: string; concurrency: string; output: string }) => {
          const access = await registryAccess(o);
          const { progressRenderer, seedSummary } = await load.progress();
          const trustedKey = await (await load.trust()).resolveTrustedKey({
            ...(o.trustedKey ? { trustedKey: o.trustedKey } : {}),
            config: o.config ?? DEFAULT_CONFIG_PATH,
            configExplicit: o.registry === undefined || o.config !== DEFAULT_CONFIG_PATH,
          });
          const progress = progressRenderer(process.stderr, { ...(o.output === 'json' || log.level === 'error' ? { intervalMs: 1e9 } : {}) });
          let r;
          try {
            r = await (await load.seed()).seedRegistry({
              ...access,
              bundle: o.bundle,
              trustedKey,
              concurrency: positiveInt(o.concurrency, '--concurrency'),
              onProgress: (p) => progress.update(p),
            });
          } finally {
            progress.finish();
          }
          if (o.output === 'json') return void printJson(r);
          process.stdout.write(`seeded ${r.registry}: ${seedSummary(r)}\n`);
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
            throw new PalisadeError(
              'registry.incomplete',
              `registry ${r.registry} is missing or has wrong content for ${r.problems.length} item(s) of the bundle`,
              {
                hint: 'run `palisade registry seed` with the same bundle; it pushes only what is missing',
                details: r.problems.map((p) => ({ path: `${p.repository} ${p.ref}`, message: p.message })),
              },
            );
          }
          process.stdout.write(
            `OK ${r.registry}: ${r.images} images and packs, ${r.manifests} manifests, ${r.blobs} blobs present${o.deep ? ' and hashed' : ''} (${(r.durationMs / 1000).toFixed(1)} s)\n`,
          );
          return 0;
        }),
      );

    reg
      .command('login')
      .description(
        "write the appliance registry's credentials where skopeo, podman, crane and helm read them (containers auth.json, 0600) and its CA where they look for it (certs.d/<host:port>/ca.crt)",
      )
      .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
      .option('--passphrase-file <file>', 'file holding the keystore passphrase (or set PALISADE_PASSPHRASE; a terminal prompts)')
      .option(
        '--authfile <file>',
        'auth.json to write (default: $REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json, else ~/.config/containers/auth.json)',
      )
      .option('--certs-dir <dir>', 'certs.d directory for the CA (default: /etc/containers/certs.d as root, else ~/.config/containers/certs.d)')
      .option('--show-password', 'also print the password on stdout (for `podman login --password-stdin`); recorded in the keystore history')
      .option('-o, --output <format>', 'text or json', 'text')
      .action(
        action(async (o: { config: string; passphraseFile?: string; authfile?: string; certsDir?: string; showPassword?: boolean; output: string }) => {
          const fmt = parseOutputFormat(o.output);
          const [{ openClusterKeystore }, { siteRegistry }, login, { revealEntry }, { KEY_NAMES }] = await Promise.all([
            import('../actions/keys.ts'),
            import('../registry/site.ts'),
            import('../registry/login.ts'),
            import('../keystore/reveal.ts'),
            import('../pki/keyset.ts'),
          ]);
          const c = await openClusterKeystore({ config: o.config, ...(o.passphraseFile ? { passphraseFile: o.passphraseFile } : {}) }, { needConfig: true });
          const site = siteRegistry(c.loaded!.config, c.ks);
          redact.add(site.password);
          const authFile = o.authfile ?? login.defaultAuthFile();
          // the password goes into a file the operator will use: that is a reveal, recorded like one
          c.ks.record({ event: 'written-to-file', name: KEY_NAMES.registryCredentials, to: authFile, by: 'registry login' });
          await c.ks.save();
          const r = await login.writeLogin({
            endpoint: site.endpoint,
            username: site.username,
            password: site.password,
            caPem: site.caPem,
            authFile,
            certsDir: o.certsDir ?? login.defaultCertsDir(),
          });
          let password: string | undefined;
          if (o.showPassword) password = (await revealEntry(c.ks, KEY_NAMES.registryCredentials, { kind: 'document' }, 'registry login --show-password')).value;
          if (fmt === 'json') return void printJson({ ok: true, ...r, ...(password !== undefined ? { password } : {}) });
          const certDirFlag = o.certsDir ? ` --cert-dir ${r.certDir}` : '';
          const authFlag = o.authfile ? ` --authfile ${r.authFile}` : '';
          process.stdout.write(
            [
              `wrote the credentials of ${site.username}@${r.endpoint} to ${r.authFile} (mode 0600) and the registry CA to ${r.caFile}`,
              'use them with:',
              `  skopeo inspect${authFlag}${certDirFlag} docker://${r.endpoint}/REPOSITORY:TAG`,
              `  podman pull${authFlag}${certDirFlag} ${r.endpoint}/REPOSITORY:TAG`,
              `  palisade registry catalog -c ${o.config}        # what REPOSITORY:TAG can be`,
              ...(password !== undefined ? [password] : []),
            ].join('\n') + '\n',
          );
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
            process.stdout.write(
              renderTable(
                ['REPOSITORY', 'TAGS'],
                rows.map((r) => [r.repository, r.tags.join(', ')]),
              ) + '\n',
            );
          } finally {
            client.close();
          }
        }),
      );
  },
};
