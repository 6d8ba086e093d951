import type { Command } from 'commander';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { action, parseOutputFormat, type CommandModule, loadConfig } from './types.ts';
import { DEFAULT_CONFIG_PATH } from '../config/paths.ts';
import { usageError } from '../core/errors.ts';
import { printJson, renderTable } from '../core/output.ts';

/**
 * `palisade backup`, `backup verify FILE`, `backup list [DIR]`: flags parsed
 * here, the work in installer/backup/. Safe from cron: no prompt when the
 * passphrase comes from a file or the environment, one summary line, exit 0
 * done, 1 failed, 2 usage, 130 interrupted.
 */
const load = {
  take: () => import('../backup/take.ts'),
  verify: () => import('../backup/verify.ts'),
  list: () => import('../backup/list.ts'),
  passphrase: () => import('../keystore/passphrase.ts'),
  lock: () => import('../state/lock.ts'),
  paths: () => import('../state/paths.ts'),
};

function keepCount(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw usageError('usage.keep', `--keep must be a whole number of at least 1, not "${v}"`, 'e.g. --keep 7 keeps the seven newest backups');
  return n;
}

/** --identity FILE: age identities, one a line (age-keygen's file; comments skipped) */
export async function readIdentities(file: string | undefined): Promise<string[] | undefined> {
  if (!file) return undefined;
  const text = await readFile(file, 'utf8').catch(() => {
    throw usageError('backup.identity', `cannot read --identity ${file}`, 'give the file age-keygen wrote');
  });
  const ids = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('AGE-SECRET-KEY-'));
  if (!ids.length) throw usageError('backup.identity', `--identity ${file} holds no age identity (AGE-SECRET-KEY-1…)`);
  return ids;
}

/** the key that opens a backup: an identity file, else the keystore passphrase */
export async function openKeyFrom(o: { identity?: string; passphraseFile?: string }): Promise<{ passphrase?: string; identities?: string[] }> {
  const identities = await readIdentities(o.identity);
  if (identities) return { identities };
  const { resolvePassphrase } = await load.passphrase();
  return {
    passphrase: await resolvePassphrase({ ...(o.passphraseFile ? { file: o.passphraseFile } : {}), label: 'backup passphrase (the keystore passphrase)' }),
  };
}

interface BackupFlags {
  config: string;
  out?: string;
  withRegistry?: boolean;
  keep?: number;
  recipient?: string[];
  passphraseFile?: string;
  output: string;
}

export const backupCommands: CommandModule = {
  register(program: Command) {
    const backup = program
      .command('backup')
      .description(
        'write one encrypted file (age format) that brings the appliance back: datastore snapshot, cluster token, keystore, palisade.yaml, journal and reports, host keys, LUKS headers, registry index',
      )
      .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
      .option('--out <file-or-dir>', 'where to write it (default: backups/ beside palisade.yaml, named palisade-<cluster>-<UTC time>.backup.age)')
      .option('--with-registry', 'also the registry blobs, so the file re-seeds a registry without the bundle')
      .option('--keep <n>', 'then delete all but the newest N backups of this cluster in that directory', keepCount)
      .option(
        '--recipient <age1...>',
        'seal to this age X25519 public key instead of the keystore passphrase (repeatable); open with --identity',
        (v: string, prev: string[] = []) => [...prev, v],
      )
      .option('--passphrase-file <file>', 'keystore passphrase file (or set PALISADE_PASSPHRASE); it also seals the backup unless --recipient is given')
      .option('-o, --output <format>', 'text (one summary line) or json', 'text')
      .addHelpText(
        'after',
        '\nOpen a backup without palisade: `age -d FILE > backup.tar` (asks for the keystore passphrase), or `age -d -i KEY FILE` for --recipient.\nExit codes: 0 written, 1 failed (nothing written), 2 usage, 130 interrupted.',
      )
      .action(
        action(async (o: BackupFlags) => {
          parseOutputFormat(o.output);
          const loaded = await loadConfig(o.config);
          const [{ takeBackup }, { resolvePassphrase }, { acquireLocalLock }, { stateDir, stateFiles }] = await Promise.all([
            load.take(),
            load.passphrase(),
            load.lock(),
            load.paths(),
          ]);
          // the install lock: a backup never runs beside an install or restore of the same cluster
          const lock = await acquireLocalLock(stateFiles(stateDir(loaded.baseDir, loaded.config.cluster.name)).lock, {
            command: 'backup',
            runId: randomUUID(),
          });
          try {
            const r = await takeBackup(loaded, {
              passphrase: () => resolvePassphrase({ ...(o.passphraseFile ? { file: o.passphraseFile } : {}) }),
              ...(o.out ? { out: o.out } : {}),
              ...(o.withRegistry ? { withRegistry: true } : {}),
              ...(o.keep !== undefined ? { keep: o.keep } : {}),
              ...(o.recipient?.length ? { recipients: o.recipient } : {}),
            });
            const { formatBytes } = await load.verify();
            if (o.output === 'json') printJson({ ok: true, ...r });
            else {
              process.stdout.write(
                `backup: ${r.path} (${formatBytes(r.bytes)}, ${r.members} members, snapshot ${r.header.snapshot.name}, ${r.header.luksHeaders.length} LUKS header(s)${r.header.withRegistry ? ', registry blobs' : ''}) in ${(r.durationMs / 1000).toFixed(1)} s${r.pruned.length ? `; pruned ${r.pruned.length} older` : ''}${r.skippedDisks.length ? `; not LUKS yet: ${r.skippedDisks.join(', ')}` : ''}\n`,
              );
            }
          } finally {
            lock.release();
          }
          return 0;
        }),
      );

    backup
      .command('verify <file>')
      .description('decrypt the backup and check every member against its manifest; restores nothing, changes nothing')
      .option('--passphrase-file <file>', 'keystore passphrase file (or set PALISADE_PASSPHRASE)')
      .option('--identity <file>', 'age identity file, for a backup sealed with --recipient')
      .option('-o, --output <format>', 'text or json', 'text')
      .action(
        action(async (file: string, _o: unknown, cmd: Command) => {
          // the parent's own flags (--passphrase-file, --output) are parsed by it wherever they stand
          const o = cmd.optsWithGlobals<{ passphraseFile?: string; identity?: string; output: string }>();
          parseOutputFormat(o.output);
          const { verifyBackup, renderVerify } = await load.verify();
          const r = await verifyBackup(resolve(file), await openKeyFrom(o));
          if (o.output === 'json') printJson(r);
          else process.stdout.write(`${renderVerify(r)}\n`);
          return 0;
        }),
      );

    backup
      .command('list [dir]')
      .description('the backups in DIR (default: backups/ beside palisade.yaml) with date, versions and size; reads their side files, decrypts nothing')
      .option('-c, --config <file>', 'config file (for the default directory)', DEFAULT_CONFIG_PATH)
      .option('-o, --output <format>', 'text or json', 'text')
      .action(
        action(async (dir: string | undefined, _o: unknown, cmd: Command) => {
          const o = cmd.optsWithGlobals<{ config: string; output: string }>();
          parseOutputFormat(o.output);
          const where = dir ? resolve(dir) : resolve(dirname(resolve(o.config)), 'backups');
          const [{ listBackups }, { formatBytes }] = await Promise.all([load.list(), load.verify()]);
          const list = await listBackups(where);
          if (o.output === 'json') printJson({ dir: where, backups: list });
          else if (!list.length) process.stdout.write(`no backups in ${where}\n`);
          else {
            const rows = list.map((b) => [
              b.createdAt.replace(/\.\d+Z$/, 'Z'),
              b.meta?.cluster ?? '?',
              b.meta?.versions.palisade ?? '?',
              b.meta?.versions.cluster ?? '?',
              formatBytes(b.bytes),
              b.meta ? (b.meta.withRegistry ? 'yes' : 'no') : '?',
              b.path.replace(`${where}/`, '') + (b.problem ? `  (${b.problem})` : ''),
            ]);
            process.stdout.write(`${renderTable(['TAKEN (UTC)', 'CLUSTER', 'PALISADE', 'K8S', 'SIZE', 'REGISTRY', 'FILE'], rows)}\n`);
          }
          return list.some((b) => b.problem && b.meta) ? 1 : 0;
        }),
      );
  },
};
