import { resolve } from 'node:path';
import type { Command } from 'commander';
import { action, parseOutputFormat, type CommandModule, loadConfig } from './types.ts';
import { DEFAULT_CONFIG_PATH } from '../config/paths.ts';
import { usageError } from '../core/errors.ts';
import { printJson } from '../core/output.ts';

const load = {
  run: () => import('../scan/run.ts'),
  store: () => import('../scan/store.ts'),
  render: () => import('../scan/render.ts'),
};

async function stateOf(config: string) {
  const loaded = await loadConfig(config);
  const { stateDir } = await import('../state/paths.ts');
  return { loaded, dir: stateDir(loaded.baseDir, loaded.config.cluster.name) };
}

export const scanCommands: CommandModule = {
  register(program: Command) {
    const scan = program
      .command('scan')
      .description('compliance, security, conformance and SBOM scans of the hosts and the cluster, kept with their history in .palisade/<cluster>/scans/');

    scan
      .command('run')
      .description('run one scan and keep its result; exit 1 when a check fails')
      .requiredOption(
        '--type <type>',
        'compliance (hardening rules + cluster settings), security (ports, set-id programs, world-writable files, vulnerable packages), conformance (API smoke suite), sbom (CycloneDX per host and for the registry)',
      )
      .option('--bundle <path>', 'the release bundle: its vulnerability database (security) and its images and packs (sbom); verified first')
      .option('--trusted-key <pem-or-file>', 'public key the bundle must be signed by (default: bundle.trustedKey in palisade.yaml)')
      .option('--max-db-age <days>', 'a vulnerability database older than this is reported stale', '30')
      .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
      .option('-o, --output <format>', 'text or json', 'text')
      .action(
        action(async (o: { type: string; bundle?: string; trustedKey?: string; maxDbAge: string; config: string; output: string }, cmd: Command) => {
          parseOutputFormat(o.output);
          const { SCAN_TYPES } = await import('../scan/types.ts');
          if (!(SCAN_TYPES as readonly string[]).includes(o.type))
            throw usageError('usage.scan-type', `--type must be one of ${SCAN_TYPES.join(', ')}, not "${o.type}"`);
          const maxDbAgeDays = Number(o.maxDbAge);
          if (!Number.isInteger(maxDbAgeDays) || maxDbAgeDays < 0)
            throw usageError('usage.max-db-age', `--max-db-age must be a whole number of days, not "${o.maxDbAge}"`);
          const loaded = await loadConfig(o.config);
          let bundle;
          if (o.bundle) {
            const { resolveTrustedKey } = await import('../bundle/trust.ts');
            bundle = {
              path: o.bundle,
              trustedKey: await resolveTrustedKey({
                ...(o.trustedKey ? { trustedKey: o.trustedKey } : {}),
                config: o.config,
                configExplicit: cmd.getOptionValueSource('config') === 'cli',
              }),
            };
          }
          const [{ runScan }, { k3sDriver }, { renderScan }] = await Promise.all([load.run(), import('../cluster/k3s.ts'), load.render()]);
          const { result, path } = await runScan({
            config: loaded.config,
            baseDir: loaded.baseDir,
            type: o.type as 'security',
            driver: k3sDriver,
            maxDbAgeDays,
            ...(bundle ? { bundle } : {}),
          });
          if (o.output === 'json') printJson({ ...result, path });
          else process.stdout.write(`${renderScan(result)}kept: ${path}\n`);
          return result.summary.fail ? 1 : 0;
        }),
      );

    scan
      .command('list')
      .description('the kept scans, oldest first')
      .option('--type <type>', 'only this type')
      .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
      .option('-o, --output <format>', 'text or json', 'text')
      .action(
        action(async (o: { type?: string; config: string; output: string }) => {
          parseOutputFormat(o.output);
          const { dir } = await stateOf(o.config);
          const list = (await (await load.store()).listScans(dir)).filter((r) => !o.type || r.type === o.type);
          if (o.output === 'json') printJson(list.map(({ findings: _f, documents: _d, ...rest }) => rest));
          else process.stdout.write((await load.render()).renderScanList(list));
        }),
      );

    scan
      .command('show <id>')
      .description('one kept scan: its failing checks (--output json: everything); --html FILE writes a self-contained report with the trend of failures')
      .option('--html <file>', 'write the HTML report here')
      .option('--sbom <subject>', 'print the CycloneDX document of this host (or "registry") of an sbom scan')
      .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
      .option('-o, --output <format>', 'text or json', 'text')
      .action(
        action(async (id: string, o: { html?: string; sbom?: string; config: string; output: string }) => {
          parseOutputFormat(o.output);
          const { dir } = await stateOf(o.config);
          const store = await load.store();
          const r = await store.loadScan(dir, id);
          if (o.sbom) {
            const d = r.documents?.[o.sbom];
            if (!d)
              throw usageError(
                'scan.sbom',
                `${id} has no SBOM for "${o.sbom}"`,
                `it has: ${Object.keys(r.documents ?? {}).join(', ') || 'none (not an sbom scan)'}`,
              );
            printJson(d);
            return;
          }
          if (o.html) {
            const [{ renderScanHtml }, { writeFileAtomic }] = await Promise.all([import('../scan/html.ts'), import('../core/atomic.ts')]);
            const history = (await store.listScans(dir)).filter((x) => x.type === r.type && x.startedAt <= r.startedAt);
            await writeFileAtomic(resolve(o.html), renderScanHtml(r, history));
            process.stderr.write(`wrote ${resolve(o.html)}\n`);
          }
          if (o.output === 'json') printJson(r);
          else if (!o.html) process.stdout.write((await load.render()).renderScan(r));
        }),
      );

    scan
      .command('diff <a> <b>')
      .description('what newly fails in B, what B fixed, what still fails, by check and host (two scans of one type)')
      .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
      .option('-o, --output <format>', 'text or json', 'text')
      .action(
        action(async (a: string, b: string, o: { config: string; output: string }) => {
          parseOutputFormat(o.output);
          const { dir } = await stateOf(o.config);
          const store = await load.store();
          const [ra, rb] = [await store.loadScan(dir, a), await store.loadScan(dir, b)];
          if (ra.type !== rb.type)
            throw usageError('scan.diff-types', `${a} is a ${ra.type} scan and ${b} a ${rb.type} scan`, 'compare two scans of the same type');
          const d = (await import('../scan/diff.ts')).diffScans(ra, rb);
          if (o.output === 'json') printJson(d);
          else process.stdout.write((await load.render()).renderDiff(d));
        }),
      );
  },
};
