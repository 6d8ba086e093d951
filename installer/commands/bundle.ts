import { access } from 'node:fs/promises';
import type { Command } from 'commander';
import { action, emit, parseOutputFormat, withOutput, type CommandModule } from './types.ts';
// implementations load when a command runs, so `palisade --help` and other commands start faster
const load = {
  build: () => import('../bundle/build.ts'),
  executable: () => import('../bundle/executable.ts'),
  open: () => import('../bundle/open.ts'),
  signing: () => import('../bundle/signing.ts'),
  spec: () => import('../bundle/spec.ts'),
  trust: () => import('../bundle/trust.ts'),
  verify: () => import('../bundle/verify.ts'),
};
import { META_FILES } from '../bundle/checksums.ts';
import { DEFAULT_CONFIG_PATH } from '../config/paths.ts';
import { writeFileAtomic } from '../core/atomic.ts';
import { usageError } from '../core/errors.ts';
import { log } from '../core/log.ts';
import { printJson, renderTable } from '../core/output.ts';

const MiB = 1 << 20;
const fmtBytes = (n: number): string =>
  n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(2)} GiB` : n >= MiB ? `${(n / MiB).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
const output = parseOutputFormat;

export const bundleCommands: CommandModule = {
  register(program: Command) {
    const bundle = program.command('bundle').description('the signed offline bundle: keygen, build, verify, inspect');

    withOutput(bundle.command('keygen'))
      .description('create an Ed25519 key pair for signing bundles (KEY 0600 + KEY.pub)')
      .option('--out <file>', 'private key file', 'bundle-signing.key')
      .action(
        action(async (o: { out: string; output: string }) => {
          parseOutputFormat(o.output);
          const pub = `${o.out.replace(/\.key$/, '')}.pub`;
          for (const f of [o.out, pub]) {
            if (
              await access(f).then(
                () => true,
                () => false,
              )
            )
              throw usageError(
                'bundle.keygen-exists',
                `${f} already exists`,
                'keep your existing key, or remove it first (bundles signed with it will no longer verify against a new key)',
              );
          }
          const k = (await load.signing()).generateSigningKey();
          await writeFileAtomic(o.out, k.privateKeyPem, { mode: 0o600 });
          await writeFileAtomic(pub, k.publicKeyPem, { mode: 0o644 });
          emit(
            o.output,
            { ok: true, privateKey: o.out, publicKey: pub, keyId: k.keyId },
            `wrote ${o.out} (private, keep it off the install sites) and ${pub}\nkey ${k.keyId}\nset bundle.trustedKey in palisade.yaml to ${pub} (or paste its PEM)`,
          );
        }),
      );

    withOutput(bundle.command('build'))
      .description('build a signed bundle from a release spec (images/release/*.yaml)')
      .requiredOption('--spec <file>', 'release spec')
      .requiredOption('--key <file>', 'Ed25519 private key from `palisade bundle keygen`')
      .requiredOption('--out <path>', 'output: a directory, or a file ending in .tar')
      .option('--version <v>', 'override the release version')
      .option(
        '--executable <file>',
        'the palisade single executable for bin/palisade (default: this program when it is the executable, else dist/palisade from `npm run build:exe`)',
      )
      .option('--no-executable', 'leave bin/palisade out (the site must then bring its own palisade)')
      .action(
        action(async (o: { spec: string; key: string; out: string; version?: string; executable: string | boolean; output: string }) => {
          parseOutputFormat(o.output);
          const spec = await (await load.spec()).loadSpec(o.spec);
          const key = await (await load.signing()).loadPrivateKey(o.key);
          const executable =
            o.executable === false ? undefined : (await load.executable()).resolveExecutable(typeof o.executable === 'string' ? o.executable : undefined);
          const r = await (await load.build()).buildBundle({
            spec,
            key,
            out: o.out,
            ...(o.version ? { version: o.version } : {}),
            ...(executable ? { executable } : {}),
            onStep: (m) => log.info(m),
          });
          const c = r.manifest.components;
          const exe = c.binaries.find((b) => b.path === 'bin/palisade');
          emit(
            o.output,
            {
              ok: true,
              path: r.path,
              name: r.manifest.name,
              version: r.manifest.version,
              components: { binaries: c.binaries.length, files: c.files.length, images: c.images.length, packs: c.packs.length },
              files: r.files,
              checksummedFiles: r.files - META_FILES.size,
              bytes: r.bytes,
              signedBy: r.keyId,
              ...(exe ? { executable: { path: exe.path, sha256: exe.sha256 } } : {}),
            },
            // the same count verify prints: files listed in checksums.txt, then the three that sign them
            `built ${r.path}: ${r.manifest.name} ${r.manifest.version}, ${c.binaries.length} binaries, ${c.files.length} files, ${c.images.length} images, ${c.packs.length} packs (${r.files - META_FILES.size} files in checksums.txt + ${[...META_FILES].sort().join(', ')}; ${fmtBytes(r.bytes)}), signed by ${r.keyId}${exe ? `\nbin/palisade sha256 ${exe.sha256} (publish it with the release notes; operators compare it before first use)` : ''}`,
          );
        }),
      );

    bundle
      .command('verify')
      .description('prove a bundle is complete and untampered: checksums, signature, image layouts')
      .argument('<bundle>', 'bundle directory or .tar')
      .option('--trusted-key <pem-or-file>', 'public key the bundle must be signed by (default: bundle.trustedKey in palisade.yaml)')
      .option('-c, --config <file>', 'config file to read bundle.trustedKey from')
      .option('--concurrency <n>', 'files hashed at once', '4')
      .option('-o, --output <format>', 'text or json', 'text')
      .action(
        action(async (path: string, o: { trustedKey?: string; config?: string; concurrency: string; output: string }) => {
          const fmt = output(o.output);
          const { checkBundle, verifyError } = await load.verify();
          const key = await (await load.trust()).resolveTrustedKey({
            ...(o.trustedKey ? { trustedKey: o.trustedKey } : {}),
            config: o.config ?? DEFAULT_CONFIG_PATH,
            configExplicit: o.config !== undefined,
          });
          const report = await checkBundle(path, key, { concurrency: Math.max(1, Number(o.concurrency) || 4) });
          if (fmt === 'json') {
            printJson(report);
            return report.ok ? 0 : 1;
          }
          if (!report.ok) throw verifyError(report);
          const secs = report.durationMs / 1000;
          process.stdout.write(
            `OK ${path}: ${report.name} ${report.version}, ${report.files} files in checksums.txt (${fmtBytes(report.bytes)}) + ${[...META_FILES].sort().join(', ')} verified in ${secs.toFixed(1)} s (${fmtBytes(report.bytes / Math.max(secs, 0.001))}/s), signed by trusted key ${report.signedBy}\n`,
          );
          return 0;
        }),
      );

    bundle
      .command('inspect')
      .description('show what a bundle holds (does not verify it)')
      .argument('<bundle>', 'bundle directory or .tar')
      .option('-o, --output <format>', 'text or json', 'text')
      .action(
        action(async (path: string, o: { output: string }) => {
          const fmt = output(o.output);
          const b = await (await load.open()).openBundle(path);
          const { parseSignature } = await load.signing();
          try {
            const m = b.manifest;
            let signer = 'unsigned';
            if (b.has('bundle.sig')) {
              try {
                signer = parseSignature((await b.read('bundle.sig')).toString('utf8')).keyId;
              } catch {
                signer = 'malformed signature';
              }
            }
            const bytes = [...b.files.values()].reduce((n, f) => n + f.size, 0);
            if (fmt === 'json') {
              printJson({ path, format: b.kind, signer, files: b.files.size, bytes, manifest: m });
              return;
            }
            const c = m.components;
            const lines = [
              `${m.name} ${m.version} (${b.kind}, ${b.files.size} files, ${fmtBytes(bytes)}), created ${m.created}`,
              `signature key: ${signer} (not verified; run \`palisade bundle verify\`)`,
              '',
              renderTable(
                ['KIND', 'NAME', 'VERSION / TAG', 'DIGEST', 'SIZE'],
                [
                  ...c.binaries.map((x) => ['binary', x.path, x.version ?? '', `sha256:${x.sha256.slice(0, 12)}`, fmtBytes(x.size)]),
                  ...c.files.map((x) => ['file', x.path, '', `sha256:${x.sha256.slice(0, 12)}`, fmtBytes(x.size)]),
                  ...c.images.map((x) => [x.mediaType.includes('index') ? 'image (index)' : 'image', x.repository, x.tag, x.digest.slice(0, 19), '']),
                  ...c.packs.map((x) => [`pack (${x.layer})`, x.name, x.version, x.digest.slice(0, 19), '']),
                ],
              ),
            ];
            if (m.sbom) lines.push('', `SBOM: ${m.sbom}`);
            process.stdout.write(lines.join('\n') + '\n');
          } finally {
            await b.close();
          }
        }),
      );
  },
};
