import type { Command } from 'commander';
import { action, emit, parseOutputFormat, withOutput, type CommandModule } from './types.ts';
import { DEFAULT_CONFIG_PATH } from '../config/paths.ts';
import { usageError } from '../core/errors.ts';
import { log } from '../core/log.ts';
import { printJson, renderTable } from '../core/output.ts';
// implementations load when a command runs (fast start of every other command)
const load = {
  ops: () => import('../actions/keys.ts'),
  keystore: () => import('../keystore/index.ts'),
  reveal: () => import('../keystore/reveal.ts'),
};

const ALGORITHMS = ['ecdsa-p256', 'ecdsa-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096', 'ed25519'] as const;
type Algorithm = (typeof ALGORITHMS)[number];

interface Common {
  config: string;
  output: string;
  keystore?: string;
  passphraseFile?: string;
}

const common = (c: Command): Command =>
  withOutput(c)
    .option('-c, --config <file>', 'config file (cluster name, FQDN, hosts)', DEFAULT_CONFIG_PATH)
    .option('--passphrase-file <file>', 'file holding the keystore passphrase (or set PALISADE_PASSPHRASE; a terminal prompts)');

const flags = (o: Common) => ({
  config: o.config,
  ...(o.keystore ? { keystore: o.keystore } : {}),
  ...(o.passphraseFile ? { passphraseFile: o.passphraseFile } : {}),
});
const day = (iso: string | undefined): string => (iso ? iso.slice(0, 10) : '');

export const keysCommands: CommandModule = {
  register(program: Command) {
    const keys = program.command('keys').description('the encrypted keystore: cluster CA, certificates and service secrets');

    common(
      keys
        .command('generate')
        .description('generate the key set (CA chain, the cluster CAs, host, registry, ingress and API certificates, service secrets); only what is missing'),
    )
      .option('--algorithm <alg>', `key type for new certificates: ${ALGORITHMS.join(', ')}`, 'ecdsa-p256')
      .action(
        action(async (o: Common & { algorithm: string }) => {
          parseOutputFormat(o.output);
          if (!ALGORITHMS.includes(o.algorithm as Algorithm))
            throw usageError('keys.algorithm', `--algorithm must be one of ${ALGORITHMS.join(', ')}, not ${o.algorithm}`);
          const ops = await load.ops();
          const c = await ops.openClusterKeystore(flags(o), { create: true, needConfig: true });
          const t0 = performance.now();
          const r = await ops.generateKeys(c, o.algorithm as Algorithm);
          log.debug(`key set: ${r.made.length} entries made in ${Math.round(performance.now() - t0)} ms`);
          const text =
            r.made.length === 0
              ? `nothing to do: all ${r.total} entries are in ${c.path}`
              : `${c.created ? 'created' : 'updated'} ${c.path}: ${r.made.length} new entr${r.made.length === 1 ? 'y' : 'ies'} (${r.made.join(', ')})`;
          const advice = c.created ? '\nkeep an offline copy: `palisade keys export-recovery FILE` (under a separate recovery passphrase)' : '';
          emit(o.output, { ok: true, keystore: c.path, created: c.created, made: r.made, total: r.total }, text + advice);
        }),
      );

    common(keys.command('list').description('names, kinds, fingerprints, creation and expiry dates (never values)'))
      .option('--keystore <file>', 'another keystore file, e.g. a recovery copy (no config needed)')
      .action(
        action(async (o: Common & { output: string }) => {
          parseOutputFormat(o.output);
          const ops = await load.ops();
          const c = await ops.openClusterKeystore(flags(o));
          const rows = c.ks.list().map(ops.describeEntry);
          if (o.output === 'json') {
            printJson({ keystore: c.path, cluster: c.ks.cluster, entries: rows });
            return;
          }
          process.stdout.write(`${c.path} (cluster ${c.ks.cluster}, ${rows.length} entries)\n\n`);
          process.stdout.write(
            renderTable(
              ['NAME', 'KIND', 'FINGERPRINT', 'CREATED', 'EXPIRES'],
              rows.map((r) => [r.name ?? '', r.kind ?? '', r.fingerprint ?? '', day(r.createdAt), day(r.expiresAt)]),
            ) + '\n',
          );
        }),
      );

    common(keys.command('show').description('public facts of one entry (with --pem its certificate chain, e.g. the root CA for clients); never its value'))
      .argument('<name>', 'entry name (see `palisade keys list`)')
      .option('--keystore <file>', 'another keystore file, e.g. a recovery copy (no config needed)')
      .option('--pem', 'print the certificate (and its chain) as PEM')
      .action(
        action(async (name: string, o: Common & { pem?: boolean }) => {
          parseOutputFormat(o.output);
          const ops = await load.ops();
          const c = await ops.openClusterKeystore(flags(o));
          const e = c.ks.get(name);
          if (!e) throw usageError('keys.unknown', `no keystore entry named ${name}`, 'see `palisade keys list`');
          if (o.pem) {
            const pem = e.kind === 'jwt-signing-key' ? e.meta?.publicKey : e.meta?.cert ? e.meta.cert + (e.meta.chain ?? '') : undefined;
            if (!pem) throw usageError('keys.no-pem', `${name} (${e.kind}) has no certificate or public key to print`);
            if (o.output === 'json') return void emit(o.output, { name, kind: e.kind, pem }, '');
            process.stdout.write(pem);
            return;
          }
          const d = ops.describeEntry(e);
          emit(
            o.output,
            d,
            Object.entries(d)
              .map(([k, v]) => `${`${k}:`.padEnd(13)}${v}`)
              .join('\n'),
          );
        }),
      );

    common(
      keys
        .command('reveal')
        .description(
          'print one secret (a LUKS recovery key, the registry password…) for an emergency, or write it to a 0600 file; asks first, and records when and which in the keystore history',
        ),
    )
      .argument('<name>', 'entry name (see `palisade keys list`)')
      .option('--keystore <file>', 'another keystore file, e.g. a recovery copy (no config needed)')
      .option('--out <file>', 'write the value to this file (mode 0600) instead of the terminal')
      .option('--force', 'replace FILE if it exists')
      .option('-y, --yes', 'do not ask (needed when there is no terminal to ask on)')
      .action(
        action(async (name: string, o: Common & { out?: string; force?: boolean; yes?: boolean }) => {
          parseOutputFormat(o.output);
          const ops = await load.ops();
          const { revealEntry, revealable } = await load.reveal();
          const c = await ops.openClusterKeystore(flags(o));
          const e = revealable(c.ks, name);
          const toTerminal = !o.out && process.stdout.isTTY === true;
          const where = o.out ? `to ${o.out} (mode 0600)` : toTerminal ? 'on this terminal' : 'on stdout';
          if (!o.yes) {
            if (process.stdin.isTTY !== true)
              throw usageError('keys.reveal-confirm', `revealing ${name} needs confirmation and there is no terminal to ask on`, 'run it again with --yes');
            const { askYesNo } = await import('../core/confirm.ts');
            if (!(await askYesNo(`reveal the secret ${name} (${e.kind}) ${where}? The reveal is recorded in the keystore history`))) {
              throw usageError('keys.reveal-declined', `${name} was not revealed`);
            }
          }
          const json = o.output === 'json';
          if (json && !o.out) {
            const r = await revealEntry(c.ks, name, { kind: 'document' }, 'keys reveal');
            return void printJson({ ok: true, name: r.name, kind: r.kind, value: r.value });
          }
          const r = await revealEntry(
            c.ks,
            name,
            o.out
              ? { kind: 'file', path: o.out, ...(o.force ? { force: true } : {}) }
              : { kind: 'stream', stream: process.stdout, label: toTerminal ? 'terminal' : 'stdout' },
            'keys reveal',
          );
          if (json) printJson({ ok: true, name: r.name, kind: r.kind, file: o.out });
          else if (o.out) process.stdout.write(`wrote ${name} to ${o.out} (mode 0600); recorded in the keystore history\n`);
          else process.stderr.write(`(${name} revealed; recorded in the keystore history)\n`);
        }),
      );

    common(
      keys
        .command('history')
        .description('what was done with the secrets: when which one was revealed or written to a file, and by which command (never a value)'),
    )
      .option('--keystore <file>', 'another keystore file, e.g. a recovery copy (no config needed)')
      .action(
        action(async (o: Common) => {
          parseOutputFormat(o.output);
          const ops = await load.ops();
          const c = await ops.openClusterKeystore(flags(o));
          const events = c.ks.history();
          emit(
            o.output,
            { keystore: c.path, events },
            events.length
              ? renderTable(
                  ['WHEN', 'EVENT', 'NAME', 'TO', 'BY'],
                  events.map((e) => [e.at, e.event, e.name, e.to, e.by]),
                )
              : 'no secret has been revealed from this keystore',
          );
        }),
      );

    common(keys.command('rotate').description('replace one entry with a new version; the old one stays as NAME@prev until pruned'))
      .argument('<name>', 'entry name (see `palisade keys list`)')
      .action(
        action(async (name: string, o: Common) => {
          parseOutputFormat(o.output);
          const ops = await load.ops();
          const c = await ops.openClusterKeystore(flags(o), { needConfig: true });
          const r = await ops.rotateEntry(c, name);
          emit(
            o.output,
            { ok: true, name: r.name, previous: r.previous, notes: r.notes },
            [
              `rotated ${r.name}; the previous version is kept as ${r.previous} until \`palisade keys prune ${r.name}\``,
              ...r.notes.map((n) => `note: ${n}`),
            ].join('\n'),
          );
        }),
      );

    common(keys.command('prune').description('drop previous versions kept by rotate (of NAME, or all)'))
      .argument('[name]', 'entry name')
      .action(
        action(async (name: string | undefined, o: Common) => {
          parseOutputFormat(o.output);
          const ops = await load.ops();
          const c = await ops.openClusterKeystore(flags(o));
          const gone = await ops.pruneEntries(c, name);
          emit(o.output, { ok: true, pruned: gone }, gone.length ? `pruned ${gone.join(', ')}` : 'nothing to prune');
        }),
      );

    common(keys.command('passphrase').description('re-encrypt the keystore under a new passphrase (atomically)'))
      .option('--new-passphrase-file <file>', 'file holding the new passphrase (or set PALISADE_NEW_PASSPHRASE; a terminal prompts twice)')
      .action(
        action(async (o: Common & { newPassphraseFile?: string }) => {
          parseOutputFormat(o.output);
          const ops = await load.ops();
          const c = await ops.openClusterKeystore(flags(o));
          await ops.changePassphrase(c, o.newPassphraseFile);
          emit(o.output, { ok: true, keystore: c.path }, `${c.path} is now encrypted under the new passphrase`);
        }),
      );

    common(
      keys.command('export-recovery').description('write an encrypted copy of the keystore, under a separate recovery passphrase, for offline safekeeping'),
    )
      .argument('<file>', 'where to write the copy')
      .option('--recovery-passphrase-file <file>', 'file holding the recovery passphrase (or set PALISADE_RECOVERY_PASSPHRASE; a terminal prompts twice)')
      .option('--force', 'overwrite FILE')
      .action(
        action(async (file: string, o: Common & { recoveryPassphraseFile?: string; force?: boolean }) => {
          parseOutputFormat(o.output);
          const ops = await load.ops();
          await ops.checkExportTarget(file, o.force === true);
          const c = await ops.openClusterKeystore(flags(o));
          await ops.exportRecovery(c, file, o.recoveryPassphraseFile);
          emit(
            o.output,
            { ok: true, file, entries: c.ks.list().length },
            `wrote ${file}: ${c.ks.list().length} entries, encrypted under the recovery passphrase (mode 0600)\nread it with \`palisade keys list --keystore ${file}\`; store it offline, away from the passphrase`,
          );
        }),
      );
  },
};
