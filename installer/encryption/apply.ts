import { randomUUID } from 'node:crypto';
import type { PalisadeConfig } from '../config/schema.ts';
import type { RemoteHost } from '../hosts/types.ts';
import { PalisadeError } from '../core/errors.ts';
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
  wipeCommand,
} from './commands.ts';
import { crypttabEntry, mergeCrypttab, mountUnit, mountUnitName } from './crypttab.ts';
import { gatherEncryptionFacts } from './facts.ts';
import { asPalisadeError, lastLines, run } from './host-step.ts';
import { bindDisk, type BindResult } from './bind.ts';
import { describeBinding } from './luks.ts';
import { planEncryption, planProblems, usesTang } from './plan.ts';
import { generateRecoveryKey } from './recovery.ts';
import { hostEncryptionSettings, recoveryKeyName } from './settings.ts';
import type { Binding, DiskPlan, EscrowRecord, EscrowStore, HostEncryptionFacts, HostPlan } from './types.ts';
import { findKeySlot, verifyDisk } from './verify.ts';
import { checkPinsReachable } from './pins.ts';
import type { ApplyEvent, ApplyOptions, ApplyReport, DiskApplyResult, DiskOutcome, HostApplyResult } from './apply-types.ts';

export { checkPinsReachable, pinProblems } from './pins.ts';
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
      if (d.addBinding)
        await progress({ device: d.device, step: 'bound', detail: boundDetail(d.addBinding, await bindDisk(host, d.device, d.addBinding, key, name)) });
      uuids.set(d.device, uuid);
      keys.set(d.device, key);
      outcomes.set(d.device, 'formatted');
    } else if (d.action === 'rebind') {
      const entry = o.keystore.get(name);
      if (!entry || entry.meta?.uuid !== d.luksUuid) {
        throw new PalisadeError(
          'encryption.recovery-missing',
          `${hp.host}: the keystore has no recovery key for ${d.device} (LUKS uuid ${d.luksUuid}); it is needed to change the bindings`,
          {
            hint: 'open the keystore that was used when the disk was formatted (--keystore), or set encryption.wipe: true to format it again (DESTROYS ITS DATA)',
          },
        );
      }
      redact.add(entry.value);
      const found = await findKeySlot(host, d.device, entry.value);
      if (!found.ok) {
        throw new PalisadeError(
          'encryption.recovery-key',
          `${hp.host}: the escrowed recovery key does not open ${d.device} (${found.error}); bindings left as they are`,
          {
            hint: 'the keystore entry and the disk disagree: restore the right keystore before changing this disk',
          },
        );
      }
      const b = d.addBinding ? await bindDisk(host, d.device, d.addBinding, entry.value, name) : undefined;
      if (d.addBinding && b) await progress({ device: d.device, step: 'bound', detail: boundDetail(d.addBinding, b) });
      // the recovery slot is never removed, whatever a token claims
      for (const slot of d.removeSlots.filter((x) => x !== found.slot && !b?.removed.includes(x))) {
        await run(
          host,
          clevisUnbindCommand(d.device, slot),
          `removing stale binding in slot ${slot} of ${d.device}`,
          'encryption.unbind',
          'the new binding is in place; re-run to remove the stale one',
        );
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
        await run(
          host,
          openCommand(d.device, d.volume, !!hp.binding),
          `opening ${d.device}`,
          'encryption.open',
          'check the pins with `palisade encryption status`',
          key,
        );
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
      : lastLines(
          r.stderr
            .split('\n')
            .filter((l) => !l.includes(SIGNAL_MARKER))
            .join('\n') || r.stdout,
        ) || 'no output';
    throw new PalisadeError('encryption.format', `${host.name}: luksFormat ${device} failed (exit ${r.code}): ${why}`, { hint });
  }
}

const boundDetail = (binding: Binding, r: BindResult): string =>
  `${describeBinding(binding)}${r.bound ? '' : ' (already bound by an interrupted run)'}${r.removed.length ? `; removed the extra binding in slot ${r.removed.join(', ')}` : ''}`;

/** Make a filesystem on the opened volume when it has none and mount the data directory on it. */
async function mountData(host: RemoteHost, d: DiskPlan, mountPoint: string, netdev: boolean): Promise<void> {
  const busy = await host.exec(sh`${raw(REMOTE_PRELUDE)}\n[ -d ${mountPoint} ] && [ -n "$(ls -A ${mountPoint} 2>/dev/null)" ] && echo busy || true`, {
    sudo: true,
  });
  if (busy.stdout.includes('busy')) {
    throw new PalisadeError(
      'encryption.mountpoint-busy',
      `${host.name}: ${mountPoint} already holds files; palisade does not mount the encrypted volume over them`,
      {
        hint: `move the files away (or into the volume once it is mounted by hand at another place), then re-run`,
      },
    );
  }
  await run(host, mkfsCommand(d.volume), `making a filesystem on /dev/mapper/${d.volume}`, 'encryption.mkfs', 're-run once the cause is fixed');
  const unit = mountUnitName(mountPoint);
  await host.upload(Buffer.from(mountUnit({ volume: d.volume, mountPoint, netdev })), `/etc/systemd/system/${unit}`, {
    mode: 0o644,
    sudo: true,
    owner: 'root:root',
  });
  await run(host, enableMountCommand(unit, mountPoint), `mounting ${mountPoint}`, 'encryption.mount', `see \`journalctl -u ${unit}\` on the host`);
}
