import { randomUUID } from 'node:crypto';
import type { PalisadeConfig } from '../config/schema.ts';
import type { RemoteHost } from '../hosts/types.ts';
import { PalisadeError, errorMessage } from '../core/errors.ts';
import { Semaphore, settleLimit } from '../core/limit.ts';
import { log, redact } from '../core/log.ts';
import { raw, sh } from '../core/quote.ts';
import {
  clevisUnbindCommand,
  enableMountCommand,
  luksFormatCommand,
  mkfsCommand,
  openCommand,
  REMOTE_PRELUDE,
  SIGNAL_MARKER,
  tangAdvertisementCommand,
  TPM_PROBE_TEXT,
  tpmProbeCommand,
  wipeCommand,
} from './commands.ts';
import { crypttabEntry, mergeCrypttab, mountUnit, mountUnitName } from './crypttab.ts';
import { gatherEncryptionFacts } from './facts.ts';
import { advertisementSigningKeys, jwkThumbprint, thumbprintMatches } from './jwk.ts';
import { bindDisk, type BindResult } from './bind.ts';
import { describeBinding } from './luks.ts';
import { planEncryption, planProblems, usesTang } from './plan.ts';
import { generateRecoveryKey } from './recovery.ts';
import { hostEncryptionSettings, recoveryKeyName } from './settings.ts';
import type { Binding, DiskPlan, EncryptionPlan, EscrowRecord, EscrowStore, HostEncryptionFacts, HostPlan } from './types.ts';
import { findKeySlot, verifyDisk } from './verify.ts';
import type { ApplyEvent, ApplyOptions, ApplyReport, DiskApplyResult, DiskOutcome, HostApplyResult } from './apply-types.ts';

export type { ApplyEvent, ApplyOptions, ApplyReport, ApplyStep, DiskApplyResult, DiskOutcome, HostApplyResult } from './apply-types.ts';

/** Escrow records (uuid per entry) for the plan, from the keystore. */
export function escrowIndex(config: PalisadeConfig, ks: EscrowStore): Map<string, EscrowRecord> {
  const out = new Map<string, EscrowRecord>();
  for (const h of config.hosts) {
    for (const d of hostEncryptionSettings(config, h).disks) {
      const e = ks.get(recoveryKeyName(h.name, d));
      if (e && e.kind === 'luks-recovery') out.set(e.name, { uuid: e.meta?.uuid });
    }
  }
  return out;
}

/** Facts from every host, one round trip each, in parallel. Failures are kept per host. */
export async function gatherAll(
  config: PalisadeConfig,
  hosts: readonly RemoteHost[],
  concurrency: number,
): Promise<{ facts: Map<string, HostEncryptionFacts>; errors: Map<string, unknown> }> {
  const facts = new Map<string, HostEncryptionFacts>();
  const errors = new Map<string, unknown>();
  const work = hosts.flatMap((host) => {
    const hc = config.hosts.find((h) => h.name === host.name);
    if (!hc) return [];
    const s = hostEncryptionSettings(config, hc);
    return s.mode === 'none' || s.disks.length === 0 ? [] : [{ host, s }];
  });
  const settled = await settleLimit(work, concurrency, ({ host, s }) => gatherEncryptionFacts(host, s.disks, s.mountPoint));
  settled.forEach((r, i) => {
    const name = work[i]!.host.name;
    if (r.status === 'fulfilled') facts.set(name, r.value);
    else errors.set(name, r.reason);
  });
  return { facts, errors };
}

/**
 * Encrypt, bind and verify the data disks of every host. Nothing is changed
 * anywhere when any disk is refused or any host is blocked: the operator gets
 * one error listing every problem. Each host is worked on in parallel; one
 * host's failure does not stop the others.
 */
export async function applyEncryption(o: ApplyOptions): Promise<ApplyReport> {
  const concurrency = o.concurrency ?? o.config.ssh.concurrency;
  const { facts, errors } = await gatherAll(o.config, o.hosts, concurrency);
  for (const [host] of facts) await o.onProgress?.({ host, step: 'facts' });
  const plan = planEncryption({ config: o.config, facts, escrow: escrowIndex(o.config, o.keystore), allowUnopened: o.allowUnopened ?? false });
  const problems = planProblems(plan);
  if (problems.length > 0) {
    throw new PalisadeError('encryption.refused', `disk encryption cannot start: ${problems.length} problem(s); nothing was changed`, {
      details: problems,
      hint: 'fix each problem listed, then run `palisade encryption plan` to check',
    });
  }
  await o.approve?.(plan);
  const keystoreLock = new Semaphore(1);
  const byName = new Map(o.hosts.map((h) => [h.name, h]));
  const results: HostApplyResult[] = [];
  for (const [host, e] of errors) results.push({ host, ok: false, error: asPalisadeError(e, host), disks: [], durationMs: 0 });
  const settled = await settleLimit(plan.hosts, concurrency, async (hp) => {
    const t0 = performance.now();
    const disks = await applyHost(byName.get(hp.host)!, hp, facts.get(hp.host)!, o, keystoreLock);
    const res: HostApplyResult = { host: hp.host, ok: disks.every((d) => d.verification.ok), disks, durationMs: performance.now() - t0 };
    return res;
  });
  settled.forEach((r, i) => {
    const host = plan.hosts[i]!.host;
    if (r.status === 'fulfilled') {
      const res = r.value;
      if (!res.ok) {
        const bad = res.disks.filter((d) => !d.verification.ok);
        res.error = new PalisadeError('encryption.verify', `${host}: verification failed on ${bad.map((d) => d.device).join(', ')}`, {
          details: bad.flatMap((d) => d.verification.problems.map((p) => ({ path: `${host}:${d.device}`, message: p }))),
          hint: 'run `palisade encryption status` for the details; re-run apply once the cause is fixed',
        });
      }
      results.push(res);
    } else {
      results.push({ host, ok: false, error: asPalisadeError(r.reason, host), disks: [], durationMs: 0 });
    }
  });
  const order = new Map(o.config.hosts.map((h, i) => [h.name, i]));
  results.sort((a, b) => (order.get(a.host) ?? 0) - (order.get(b.host) ?? 0));
  return { plan, hosts: results, ok: results.every((r) => r.ok) };
}

function asPalisadeError(e: unknown, host: string): PalisadeError {
  if (e instanceof PalisadeError) return e;
  return new PalisadeError('encryption.failed', `${host}: ${redact.apply(errorMessage(e))}`, { cause: e });
}

function lastLines(s: string, n = 3): string {
  return redact
    .apply(s)
    .trim()
    .split('\n')
    .filter((l) => l.trim() && !/No usable token is available/.test(l))
    .slice(-n)
    .join(' / ');
}

async function run(host: RemoteHost, cmd: string, what: string, code: string, hint: string, stdin?: string): Promise<string> {
  const r = await host.exec(cmd, stdin === undefined ? { sudo: true } : { sudo: true, stdin });
  if (r.code !== 0) {
    throw new PalisadeError(code, `${host.name}: ${what} failed (exit ${r.code}): ${lastLines(r.stderr || r.stdout) || 'no output'}`, { hint });
  }
  return r.stdout;
}

/** Tang servers and TPM must work before a disk is touched: a failure here changes nothing. */
export async function checkPinsReachable(host: RemoteHost, binding: Binding): Promise<void> {
  const tang: Array<Extract<Binding, { pin: 'tang' }>> = [];
  let tpm: Extract<Binding, { pin: 'tpm2' }> | undefined;
  const walk = (b: Binding): void => {
    if (b.pin === 'tang') tang.push(b);
    else if (b.pin === 'tpm2') tpm = b;
    else if (b.pin === 'sss') b.pins.forEach(walk);
  };
  walk(binding);
  for (const t of tang) {
    const r = await host.exec(tangAdvertisementCommand(t.url), { sudo: true });
    if (r.code !== 0) {
      throw new PalisadeError('encryption.tang-unreachable', `${host.name}: cannot reach the Tang server ${t.url} from the host (${lastLines(r.stderr) || `curl exit ${r.code}`}); no disk on this host was changed`, {
        hint: 'start the Tang server or fix the route from the host to it, then re-run',
      });
    }
    let keys;
    try {
      keys = advertisementSigningKeys(r.stdout);
    } catch (e) {
      throw new PalisadeError('encryption.tang-thumbprint', `${host.name}: ${t.url} did not answer with a Tang advertisement (${errorMessage(e)}); no disk on this host was changed`, {
        hint: 'check that the URL points at a Tang server',
      });
    }
    const pinned = t.thumbprints[0] ?? '';
    if (!thumbprintMatches(pinned, keys)) {
      const seen = keys.map((k) => jwkThumbprint(k)).join(', ') || 'none';
      throw new PalisadeError('encryption.tang-thumbprint', `${host.name}: the Tang server ${t.url} signs with key(s) ${seen}, not the pinned thumbprint ${pinned}; no disk on this host was changed`, {
        hint: 'if the Tang keys were rotated on purpose, set the new thumbprint (`tang-show-keys` on the Tang server) in encryption.tang; otherwise this is not your Tang server',
      });
    }
  }
  if (tpm) {
    const r = await host.exec(tpmProbeCommand(tpm.pcrs), { sudo: true });
    if (r.code !== 0 || r.stdout.trim() !== TPM_PROBE_TEXT) {
      throw new PalisadeError('encryption.tpm', `${host.name}: the TPM did not seal and unseal a test value under PCR(s) ${tpm.pcrs.join(',')} (${lastLines(r.stderr) || `exit ${r.code}`}); no disk on this host was changed`, {
        hint: 'check the TPM (tpm2_getcap properties-fixed), its TCTI (TPM2TOOLS_TCTI in /etc/environment) and the PCR list in encryption.tpm2.pcrs',
      });
    }
  }
}

/**
 * For `plan`: the pins each host with binding work would use, checked from the
 * host now (Tang reachable with the pinned key, the TPM seals and unseals).
 * Changes nothing on any disk. One problem per host that would fail.
 */
export async function pinProblems(plan: EncryptionPlan, hosts: readonly RemoteHost[], concurrency: number): Promise<Array<{ path: string; message: string }>> {
  const byName = new Map(hosts.map((h) => [h.name, h]));
  const todo = plan.hosts.filter((hp) => hp.binding && hp.blockers.length === 0 && hp.disks.some((d) => d.addBinding && d.action !== 'refuse') && byName.has(hp.host));
  const settled = await settleLimit(todo, concurrency, (hp) => checkPinsReachable(byName.get(hp.host)!, hp.binding!));
  return settled.flatMap((r, i) =>
    r.status === 'fulfilled' ? [] : [{ path: todo[i]!.host, message: r.reason instanceof PalisadeError ? `[${r.reason.code}] ${r.reason.message.replace(/; no disk on this host was changed$/, '')}` : errorMessage(r.reason) }],
  );
}

async function applyHost(host: RemoteHost, hp: HostPlan, facts: HostEncryptionFacts, o: ApplyOptions, keystoreLock: Semaphore): Promise<DiskApplyResult[]> {
  const progress = async (e: Omit<ApplyEvent, 'host'>) => {
    log.debug(`encryption ${hp.host}${e.device ? ` ${e.device}` : ''}: ${e.step}${e.detail ? ` (${e.detail})` : ''}`);
    await o.onProgress?.({ host: hp.host, ...e });
  };
  const s = hp.settings;
  if (hp.binding && hp.disks.some((d) => d.addBinding)) {
    await checkPinsReachable(host, hp.binding);
    await progress({ step: 'checked', detail: describeBinding(hp.binding) });
  }

  const uuids = new Map<string, string>();
  const keys = new Map<string, string>();
  const outcomes = new Map<string, DiskOutcome>();
  for (const d of hp.disks) {
    const name = recoveryKeyName(hp.host, d.device);
    if (d.action === 'format') {
      const key = generateRecoveryKey();
      redact.add(key);
      const uuid = randomUUID();
      await keystoreLock.use(async () => {
        o.keystore.put({
          name,
          kind: 'luks-recovery',
          value: key,
          meta: { host: hp.host, device: d.device, uuid, cipher: s.cipher },
          createdAt: new Date().toISOString(),
        });
        await o.keystore.save();
      });
      await progress({ device: d.device, step: 'escrowed', detail: name });
      const resumeHint = `the recovery key is in the keystore (${name}); nothing else changed on ${d.device}. Fix the cause and re-run`;
      if (d.wipes.length > 0) {
        await run(host, wipeCommand(d.device), `wiping ${d.device}`, 'encryption.wipe', resumeHint);
        await progress({ device: d.device, step: 'wiped', detail: d.wipes.join('; ') });
      }
      await formatDisk(host, luksFormatCommand({ device: d.device, uuid, label: d.volume, settings: s }), d.device, resumeHint, key);
      await progress({ device: d.device, step: 'formatted', detail: uuid });
      if (d.addBinding) await progress({ device: d.device, step: 'bound', detail: boundDetail(d.addBinding, await bindDisk(host, d.device, d.addBinding, key, name)) });
      uuids.set(d.device, uuid);
      keys.set(d.device, key);
      outcomes.set(d.device, 'formatted');
    } else if (d.action === 'rebind') {
      const entry = o.keystore.get(name);
      if (!entry || entry.meta?.uuid !== d.luksUuid) {
        throw new PalisadeError('encryption.recovery-missing', `${hp.host}: the keystore has no recovery key for ${d.device} (LUKS uuid ${d.luksUuid}); it is needed to change the bindings`, {
          hint: 'open the keystore that was used when the disk was formatted (--keystore), or set encryption.wipe: true to format it again (DESTROYS ITS DATA)',
        });
      }
      redact.add(entry.value);
      const found = await findKeySlot(host, d.device, entry.value);
      if (!found.ok) {
        throw new PalisadeError('encryption.recovery-key', `${hp.host}: the escrowed recovery key does not open ${d.device} (${found.error}); bindings left as they are`, {
          hint: 'the keystore entry and the disk disagree: restore the right keystore before changing this disk',
        });
      }
      const b = d.addBinding ? await bindDisk(host, d.device, d.addBinding, entry.value, name) : undefined;
      if (d.addBinding && b) await progress({ device: d.device, step: 'bound', detail: boundDetail(d.addBinding, b) });
      // the recovery slot is never removed, whatever a token claims
      for (const slot of d.removeSlots.filter((x) => x !== found.slot && !b?.removed.includes(x))) {
        await run(host, clevisUnbindCommand(d.device, slot), `removing stale binding in slot ${slot} of ${d.device}`, 'encryption.unbind', 'the new binding is in place; re-run to remove the stale one');
        await progress({ device: d.device, step: 'unbound', detail: `slot ${slot}` });
      }
      keys.set(d.device, entry.value);
      outcomes.set(d.device, 'rebound');
    } else if (d.action === 'configure') {
      outcomes.set(d.device, 'configured');
    } else {
      outcomes.set(d.device, 'unchanged');
    }
    if (d.luksUuid) uuids.set(d.device, d.luksUuid);
  }

  const netdev = usesTang(hp.binding);
  const entries = hp.disks.map((d) => crypttabEntry({ name: d.volume, uuid: uuids.get(d.device) ?? '', netdev, noauto: hp.unopened }));
  const crypttab = mergeCrypttab(facts.crypttab, entries);
  if (crypttab !== undefined) {
    await host.upload(Buffer.from(crypttab), '/etc/crypttab', { mode: 0o644, sudo: true, owner: 'root:root' });
    await progress({ step: 'crypttab', detail: entries.map((e) => e.name).join(', ') });
    for (const d of hp.disks) if (outcomes.get(d.device) === 'unchanged') outcomes.set(d.device, 'configured');
  }

  const states = new Map<string, string>();
  for (const d of hp.disks) states.set(d.device, hp.unopened ? 'bound, not opened' : 'closed');
  if (!hp.unopened) {
    for (const d of hp.disks) {
      if (d.open) {
        const key = hp.binding ? undefined : (keys.get(d.device) ?? o.keystore.get(recoveryKeyName(hp.host, d.device))?.value);
        await run(host, openCommand(d.device, d.volume, !!hp.binding), `opening ${d.device}`, 'encryption.open', 'check the pins with `palisade encryption status`', key);
        await progress({ device: d.device, step: 'opened', detail: `/dev/mapper/${d.volume}` });
      }
      states.set(d.device, 'open');
    }
    const first = hp.disks[0];
    if (first?.mount) {
      await mountData(host, first, s.mountPoint, netdev);
      await progress({ device: first.device, step: 'mounted', detail: s.mountPoint });
    }
    if (first && (first.mount || facts.mountActive)) states.set(first.device, `mounted at ${s.mountPoint}`);
  }

  const results: DiskApplyResult[] = [];
  for (const d of hp.disks) {
    const entry = o.keystore.get(recoveryKeyName(hp.host, d.device));
    if (entry) redact.add(entry.value);
    const verification = await verifyDisk(host, d.device, {
      binding: hp.binding,
      recoveryKey: entry ? entry.value : null,
      ...(entry?.meta?.uuid ? { expectedUuid: entry.meta.uuid } : {}),
    });
    await progress({ device: d.device, step: 'verified', detail: verification.ok ? 'ok' : verification.problems.join('; ') });
    results.push({ device: d.device, action: d.action, outcome: outcomes.get(d.device) ?? 'unchanged', state: states.get(d.device) ?? 'closed', verification });
  }
  return results;
}

/**
 * luksFormat, tried once more when cryptsetup was killed by a signal: its PBKDF
 * benchmark can die of SIGFPE on a busy host with a very low iterTimeMs. The
 * disk was blank or wiped and the key and UUID are the escrowed ones, so a
 * second format is the same operation.
 */
async function formatDisk(host: RemoteHost, cmd: string, device: string, hint: string, key: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const r = await host.exec(cmd, { sudo: true, stdin: key });
    if (r.code === 0) return;
    const sig = new RegExp(`${SIGNAL_MARKER} (\\d+)`).exec(r.stderr)?.[1];
    if (sig && attempt < 2) {
      log.warn(`${host.name}: cryptsetup luksFormat ${device} was killed by signal ${sig}; trying once more`);
      continue;
    }
    const why = sig
      ? `cryptsetup was killed by signal ${sig}${sig === '8' ? ' (SIGFPE: its PBKDF benchmark; set encryption.pbkdfIterations, or raise encryption.iterTimeMs)' : ''}`
      : lastLines(r.stderr.split('\n').filter((l) => !l.includes(SIGNAL_MARKER)).join('\n') || r.stdout) || 'no output';
    throw new PalisadeError('encryption.format', `${host.name}: luksFormat ${device} failed (exit ${r.code}): ${why}`, { hint });
  }
}

const boundDetail = (binding: Binding, r: BindResult): string =>
  `${describeBinding(binding)}${r.bound ? '' : ' (already bound by an interrupted run)'}${r.removed.length ? `; removed the extra binding in slot ${r.removed.join(', ')}` : ''}`;

/** Make a filesystem on the opened volume when it has none and mount the data directory on it. */
async function mountData(host: RemoteHost, d: DiskPlan, mountPoint: string, netdev: boolean): Promise<void> {
  const busy = await host.exec(sh`${raw(REMOTE_PRELUDE)}\n[ -d ${mountPoint} ] && [ -n "$(ls -A ${mountPoint} 2>/dev/null)" ] && echo busy || true`, { sudo: true });
  if (busy.stdout.includes('busy')) {
    throw new PalisadeError('encryption.mountpoint-busy', `${host.name}: ${mountPoint} already holds files; palisade does not mount the encrypted volume over them`, {
      hint: `move the files away (or into the volume once it is mounted by hand at another place), then re-run`,
    });
  }
  await run(host, mkfsCommand(d.volume), `making a filesystem on /dev/mapper/${d.volume}`, 'encryption.mkfs', 're-run once the cause is fixed');
  const unit = mountUnitName(mountPoint);
  await host.upload(Buffer.from(mountUnit({ volume: d.volume, mountPoint, netdev })), `/etc/systemd/system/${unit}`, { mode: 0o644, sudo: true, owner: 'root:root' });
  await run(host, enableMountCommand(unit, mountPoint), `mounting ${mountPoint}`, 'encryption.mount', `see \`journalctl -u ${unit}\` on the host`);
}
