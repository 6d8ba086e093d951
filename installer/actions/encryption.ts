/**
 * What the `encryption plan|apply|status` commands do, apart from parsing
 * flags: connect to the hosts with encryption configured, open the recovery
 * keystore through a session (created only once a format is confirmed), run
 * the encryption module, print the report; each returns the exit code.
 */
import { resolve } from 'node:path';
import { loadConfig, type LoadedConfig } from '../config/load.ts';
import { PalisadeError, usageError } from '../core/errors.ts';
import { log } from '../core/log.ts';
import { printJson } from '../core/output.ts';
import type { RemoteHost } from '../hosts/types.ts';
import type { EncryptionMode, EncryptionPlan, EscrowStore } from '../encryption/types.ts';
import { KeystoreSession } from '../keystore/session.ts';
import { keystorePath } from '../keystore/store.ts';

const load = {
  encryption: () => import('../encryption/index.ts'),
  progress: () => import('../encryption/progress.ts'),
  hosts: () => import('../hosts/index.ts'),
};

export interface CommonFlags {
  config: string;
  host?: string[];
  output: string;
  allowUnopened?: boolean;
  keystore?: string;
  passphraseFile?: string;
}

/** --host names, checked against the config (comma lists accepted). */
function selectedHosts(loaded: LoadedConfig, names: string[] | undefined): string[] | undefined {
  if (!names || names.length === 0) return undefined;
  const wanted = [
    ...new Set(
      names
        .flatMap((n) => n.split(','))
        .map((n) => n.trim())
        .filter(Boolean),
    ),
  ];
  const known = new Set(loaded.config.hosts.map((h) => h.name));
  const unknown = wanted.filter((n) => !known.has(n));
  if (unknown.length)
    throw usageError(
      'usage.host',
      `no host named ${unknown.map((n) => `"${n}"`).join(', ')} in ${loaded.path}`,
      `hosts in the config: ${[...known].join(', ')}`,
    );
  return wanted;
}

function recoverySession(loaded: LoadedConfig, o: CommonFlags): KeystoreSession {
  const path = o.keystore ? resolve(o.keystore) : keystorePath(loaded.baseDir, loaded.config.cluster.name);
  return new KeystoreSession({ path, cluster: loaded.config.cluster.name, ...(o.passphraseFile ? { passphraseFile: o.passphraseFile } : {}) });
}

/**
 * The keystore for recovery keys, when it exists. Undefined when there is none,
 * or when no passphrase can be had (PALISADE_PASSPHRASE, --passphrase-file, a
 * terminal to prompt on) and `required` is false (plan, status).
 */
async function openRecoveryKeystore(session: KeystoreSession, required: boolean): Promise<EscrowStore | undefined> {
  if (!(await session.exists())) return undefined;
  if (!required && !session.canUnlock()) return undefined;
  return session.open();
}

/**
 * apply's keystore: the existing one, or one created only once the operator
 * confirmed a plan that formats a disk (a refused or unconfirmed run leaves no
 * new keystore behind and asks for no new passphrase).
 */
class RecoveryKeystore implements EscrowStore {
  constructor(
    private inner: EscrowStore | undefined,
    private readonly session: KeystoreSession,
  ) {}
  get(name: string) {
    return this.inner?.get(name);
  }
  put(entry: Parameters<EscrowStore['put']>[0]): void {
    if (!this.inner) throw new Error('the keystore was not created before a recovery key was stored');
    this.inner.put(entry);
  }
  async save(): Promise<void> {
    await this.inner?.save();
  }
  /** create the keystore file now if there is none */
  async ensure(): Promise<void> {
    if (this.inner) return;
    this.inner = await this.session.openOrCreate();
    log.info(`new keystore ${this.session.path}: each recovery key is written to it before its disk is formatted`);
  }
}

interface Session {
  loaded: LoadedConfig;
  hosts: RemoteHost[];
  failures: Array<{ name: string; error: PalisadeError }>;
  close(): Promise<void>;
}

/** Load the config and connect to the hosts that have encryption configured (or the --host ones). */
async function connect(o: CommonFlags): Promise<Session> {
  const loaded = await loadConfig(o.config);
  const only = selectedHosts(loaded, o.host);
  const { hostEncryptionSettings } = await load.encryption();
  const names = loaded.config.hosts
    .filter((h) => (only ? only.includes(h.name) : true))
    .filter((h) => hostEncryptionSettings(loaded.config, h).mode !== 'none')
    .map((h) => h.name);
  if (names.length === 0) {
    return { loaded, hosts: [], failures: [], close: async () => undefined };
  }
  const { connectHosts, closeAll } = await load.hosts();
  const { hosts, failures } = await connectHosts(loaded.config, loaded.baseDir, { only: names });
  return { loaded, hosts: [...hosts.values()], failures, close: () => closeAll(hosts) };
}

function connectionDetails(failures: Session['failures']): Array<{ path: string; message: string }> {
  return failures.map((f) => ({ path: f.name, message: `[${f.error.code}] ${f.error.message}` }));
}

function reportFailures(failures: Session['failures']): void {
  for (const f of failures) log.error(`${f.name}: not reached: [${f.error.code}] ${f.error.message}${f.error.hint ? ` (${f.error.hint})` : ''}`);
}

function modeOf(loaded: LoadedConfig, name: string): EncryptionMode | 'none' {
  const h = loaded.config.hosts.find((x) => x.name === name);
  return h?.encryption?.mode ?? loaded.config.encryption.mode;
}

function formats(plan: EncryptionPlan): Array<{ host: string; device: string; wipes: string[] }> {
  return plan.hosts.flatMap((h) => h.disks.filter((d) => d.action === 'format').map((d) => ({ host: h.host, device: d.device, wipes: d.wipes })));
}

/** `encryption plan`: what apply would do; changes nothing (1 when a disk is refused or a host blocked). */
export async function encryptionPlan(o: CommonFlags): Promise<number> {
  const s = await connect(o);
  try {
    const e = await load.encryption();
    const ks = await openRecoveryKeystore(recoverySession(s.loaded, o), false);
    const { facts, errors } = await e.gatherAll(s.loaded.config, s.hosts, s.loaded.config.ssh.concurrency);
    const plan = e.planEncryption({
      config: s.loaded.config,
      facts,
      ...(ks ? { escrow: e.escrowIndex(s.loaded.config, ks) } : {}),
      allowUnopened: o.allowUnopened === true,
    });
    const pins = await e.pinProblems(plan, s.hosts, s.loaded.config.ssh.concurrency);
    const problems = [...e.planProblems(plan), ...pins];
    const unreachable = [
      ...connectionDetails(s.failures),
      ...[...errors].map(([host, err]) => ({ path: host, message: err instanceof PalisadeError ? `[${err.code}] ${err.message}` : String(err) })),
    ];
    if (o.output === 'json') {
      printJson({ ...e.planJson(plan), unreachable, problems, keystoreChecked: ks !== undefined });
    } else {
      process.stdout.write(e.renderPlan(plan));
      for (const p of pins) process.stdout.write(`${p.path}: PIN PROBLEM: ${p.message}\n`);
      for (const u of unreachable) process.stdout.write(`${u.path}: NOT REACHED: ${u.message}\n`);
      if (!ks && plan.hosts.length > 0)
        process.stdout.write('(keystore not opened: a LUKS2 header made by palisade is taken as ours; apply checks its recovery key)\n');
    }
    return problems.length > 0 || unreachable.length > 0 ? 1 : 0;
  } finally {
    await s.close();
  }
}

/** `encryption apply`: encrypt, bind and verify; formats only with `yes`. */
export async function encryptionApply(o: CommonFlags & { yes?: boolean }): Promise<number> {
  const s = await connect(o);
  try {
    reportFailures(s.failures);
    if (s.hosts.length === 0) {
      if (s.failures.length)
        throw new PalisadeError('encryption.unreachable', 'no host could be reached; nothing was changed', { details: connectionDetails(s.failures) });
      process.stdout.write(o.output === 'json' ? '{"hosts":[],"ok":true}\n' : 'no hosts with disk encryption configured\n');
      return 0;
    }
    const e = await load.encryption();
    const session = recoverySession(s.loaded, o);
    const ks = new RecoveryKeystore(await openRecoveryKeystore(session, true), session);
    const progress = o.output === 'json' || log.level === 'error' ? undefined : (await load.progress()).applyProgress();
    let report;
    try {
      report = await e.applyEncryption({
        config: s.loaded.config,
        hosts: s.hosts,
        keystore: ks,
        allowUnopened: o.allowUnopened === true,
        approve: async (plan) => {
          const f = formats(plan);
          if (f.length > 0 && !o.yes) {
            if (o.output !== 'json') process.stdout.write(e.renderPlan(plan));
            throw new PalisadeError(
              'encryption.confirm',
              `apply would format ${f.length} disk(s): ${f.map((x) => `${x.host}:${x.device}`).join(', ')}; nothing was changed`,
              {
                details: f.map((x) => ({
                  path: `${x.host}:${x.device}`,
                  message: x.wipes.length ? `holds ${x.wipes.join('; ')}: ALL OF IT IS LOST` : 'blank: formatted LUKS2',
                })),
                hint: 'check the plan, then re-run with --yes',
              },
            );
          }
          if (f.length > 0) await ks.ensure();
          progress?.start(plan);
        },
        ...(progress ? { onProgress: (ev) => progress.event(ev) } : {}),
      });
    } catch (err) {
      await progress?.finish(undefined, err);
      throw err;
    }
    await progress?.finish(report);
    if (o.output === 'json') printJson({ ...e.applyReportJson(report), unreachable: connectionDetails(s.failures) });
    else process.stdout.write(e.renderApplyReport(report));
    const failed = report.hosts.filter((h) => !h.ok);
    if (failed.length > 0 && o.output !== 'json') {
      for (const h of failed) if (h.error?.hint) log.error(`${h.host}: hint: ${h.error.hint}`);
    }
    return report.ok && s.failures.length === 0 ? 0 : 1;
  } finally {
    await s.close();
  }
}

/** `encryption status`: verify every encrypted disk. */
export async function encryptionStatus(o: CommonFlags): Promise<number> {
  const s = await connect(o);
  try {
    const e = await load.encryption();
    const ks = await openRecoveryKeystore(recoverySession(s.loaded, o), false);
    const report = await e.encryptionStatus({ config: s.loaded.config, hosts: s.hosts, ...(ks ? { keystore: ks } : {}) });
    for (const f of s.failures)
      report.hosts.push({ host: f.name, mode: modeOf(s.loaded, f.name), ok: false, error: `[${f.error.code}] ${f.error.message}`, problems: [], disks: [] });
    report.ok = report.ok && s.failures.length === 0;
    if (o.output === 'json') printJson({ ...report, keystoreChecked: ks !== undefined });
    else {
      process.stdout.write(e.renderStatus(report));
      if (!ks && report.hosts.some((h) => h.disks.length > 0))
        process.stdout.write('(keystore not opened: recovery keys not checked; set PALISADE_PASSPHRASE or --passphrase-file)\n');
    }
    return report.ok ? 0 : 1;
  } finally {
    await s.close();
  }
}
