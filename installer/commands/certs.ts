import type { Command } from 'commander';
import { action, emit, parseOutputFormat, withOutput, type CommandModule } from './types.ts';
import { DEFAULT_CONFIG_PATH } from '../config/paths.ts';
import { usageError } from '../core/errors.ts';
import { log } from '../core/log.ts';
import { printJson } from '../core/output.ts';
// implementations load when a command runs
const load = {
  import: () => import('../pki/import.ts'),
  pem: () => import('../pki/load.ts'),
  ops: () => import('../actions/keys.ts'),
  config: () => import('../config/load.ts'),
};

interface CertFlags {
  config: string;
  cert?: string;
  key?: string;
  chain?: string;
  ca?: string;
  p12?: string;
  keyPassphraseFile?: string;
  fqdn?: string;
  passphraseFile?: string;
  output: string;
}

const inputs = (c: Command): Command =>
  c
    .option('--cert <file>', 'the server certificate (PEM or DER; may be followed by its chain)')
    .option('--key <file>', 'its private key (PEM or DER; PKCS#1, SEC1 or PKCS#8, encrypted or not)')
    .option('--chain <file>', 'intermediate certificates (and the root), PEM')
    .option('--ca <file>', 'the root CA the chain must reach (PEM or DER)')
    .option('--p12 <file>', 'a PKCS#12 file with the key and certificates, instead of --cert/--key')
    .option('--key-passphrase-file <file>', 'file holding the passphrase of an encrypted key or PKCS#12')
    .option('--fqdn <name>', 'the name the certificate must cover (default: cluster.fqdn in palisade.yaml)')
    .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
    .option('-o, --output <format>', 'text or json', 'text');

async function fqdnOf(o: CertFlags): Promise<string> {
  if (o.fqdn) return o.fqdn;
  const { loadConfig } = await load.config();
  return (await loadConfig(o.config)).config.cluster.fqdn;
}

async function check(o: CertFlags) {
  parseOutputFormat(o.output);
  const fqdn = await fqdnOf(o);
  const imp = await load.import();
  const checked = await imp.checkCertificateFiles({
    cert: o.cert,
    key: o.key,
    chain: o.chain,
    ca: o.ca,
    p12: o.p12,
    keyPassphraseFile: o.keyPassphraseFile,
    fqdn,
  });
  const r = checked.report;
  for (const w of r.warnings) log.warn(w.message);
  for (const n of r.notes) log.info(`note: ${n}`);
  return { fqdn, checked, imp };
}

function jsonReport(fqdn: string, r: Awaited<ReturnType<typeof check>>['checked']['report'], stored: boolean) {
  return {
    fqdn,
    ok: r.ok,
    stored,
    errors: r.errors,
    warnings: r.warnings,
    notes: r.notes,
    subject: r.leaf.subject,
    names: { dns: r.leaf.san?.dns ?? [], ip: r.leaf.san?.ip ?? [] },
    chain: [...r.intermediates, ...(r.root ? [r.root] : [])].map((c) => c.subject),
    notAfter: r.leaf.notAfter.toISOString(),
    fingerprint: r.leaf.fingerprint,
  };
}

export const certsCommands: CommandModule = {
  register(program: Command) {
    const certs = program.command('certs').description("the operator's certificate for the appliance FQDN: import, check, show");

    inputs(certs.command('check').description('check a certificate and key for the FQDN, as a browser would; stores nothing')).action(
      action(async (o: CertFlags) => {
        const { fqdn, checked, imp } = await check(o);
        const r = checked.report;
        if (o.output === 'json') {
          printJson(jsonReport(fqdn, r, false));
          return r.ok ? 0 : 1;
        }
        if (!r.ok) throw imp.refusal(fqdn, r);
        process.stdout.write(`OK: the certificate is acceptable for ${fqdn}\n${imp.describeCertificate(r)}\n`);
        return 0;
      }),
    );

    inputs(certs.command('import').description('check a certificate for the FQDN and store it (with its key) in the keystore'))
      .option('--passphrase-file <file>', 'file holding the keystore passphrase (or set PALISADE_PASSPHRASE; a terminal prompts)')
      .action(
        action(async (o: CertFlags) => {
          const { fqdn, checked, imp } = await check(o);
          const r = checked.report;
          if (!r.ok) {
            if (o.output === 'json') {
              printJson(jsonReport(fqdn, r, false));
              return 1;
            }
            throw imp.refusal(fqdn, r);
          }
          const ops = await load.ops();
          const c = await ops.openClusterKeystore(
            { config: o.config, ...(o.passphraseFile ? { passphraseFile: o.passphraseFile } : {}) },
            { create: true, needConfig: true },
          );
          const entry = imp.ingressEntry(checked, fqdn);
          const old = c.ks.get(imp.INGRESS_ENTRY);
          if (old && old.meta?.fingerprint === entry.meta?.fingerprint && old.value === entry.value) {
            if (o.output === 'json') printJson(jsonReport(fqdn, r, true));
            else process.stdout.write(`already stored: this certificate is the one in ${c.path}\n${imp.describeCertificate(r)}\n`);
            return 0;
          }
          if (old)
            c.ks.put({
              ...old,
              name: `${imp.INGRESS_ENTRY}@prev`,
              meta: { ...(old.meta ?? {}), previousOf: imp.INGRESS_ENTRY, rotatedAt: new Date().toISOString() },
            });
          c.ks.put(entry);
          await c.ks.save();
          if (o.output === 'json') {
            printJson(jsonReport(fqdn, r, true));
            return 0;
          }
          process.stdout.write(
            `imported the certificate for ${fqdn} into ${c.path} (${imp.INGRESS_ENTRY})${old ? `; the previous one is kept as ${imp.INGRESS_ENTRY}@prev` : ''}\n${imp.describeCertificate(r)}\n`,
          );
          return 0;
        }),
      );

    withOutput(certs.command('show'))
      .description('show the stored FQDN certificate (never its key)')
      .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
      .option('--passphrase-file <file>', 'file holding the keystore passphrase (or set PALISADE_PASSPHRASE; a terminal prompts)')
      .option('--pem', 'print the certificate chain as PEM')
      .action(
        action(async (o: { config: string; passphraseFile?: string; pem?: boolean; output: string }) => {
          parseOutputFormat(o.output);
          const ops = await load.ops();
          const imp = await load.import();
          const { loadCertificates } = await load.pem();
          const c = await ops.openClusterKeystore({ config: o.config, ...(o.passphraseFile ? { passphraseFile: o.passphraseFile } : {}) });
          const e = c.ks.get(imp.INGRESS_ENTRY);
          if (!e?.meta?.cert)
            throw usageError(
              'cert.none',
              `no imported certificate in ${c.path}`,
              'import one with `palisade certs import --cert F --key F`; until then the generated fallback certificate (tls/ingress-fallback) serves the FQDN',
            );
          const m = e.meta;
          if (o.pem && o.output !== 'json') {
            process.stdout.write(m.cert! + (m.chain ?? ''));
            return;
          }
          const leaf = loadCertificates(Buffer.from(m.cert!), 'keystore')[0]!;
          const intermediates = m.chain ? loadCertificates(Buffer.from(m.chain), 'keystore') : [];
          const root = m.root ? loadCertificates(Buffer.from(m.root), 'keystore')[0] : undefined;
          const days = (leaf.notAfter.getTime() - Date.now()) / 86_400_000;
          emit(
            o.output,
            {
              name: imp.INGRESS_ENTRY,
              fqdn: m.fqdn ?? null,
              importedAt: m.importedAt ?? e.createdAt ?? null,
              subject: leaf.subject,
              issuer: leaf.issuer,
              notBefore: leaf.notBefore.toISOString(),
              notAfter: leaf.notAfter.toISOString(),
              daysLeft: Math.floor(days),
              fingerprint: leaf.fingerprint,
              chain: [...intermediates.map((c) => c.subject), ...(root ? [root.subject] : [])],
              ...(o.pem ? { pem: m.cert! + (m.chain ?? '') } : {}),
            },
            `${imp.INGRESS_ENTRY} for ${m.fqdn ?? '?'} (imported ${(m.importedAt ?? e.createdAt ?? '').slice(0, 10)})\n${imp.describeCertificate({ leaf, intermediates, root })}`,
          );
          if (days < 30) log.warn(days <= 0 ? 'the certificate has EXPIRED' : `the certificate expires in ${Math.ceil(days)} days`);
        }),
      );
  },
};
