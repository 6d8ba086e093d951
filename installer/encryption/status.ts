import type { PalisadeConfig } from '../config/schema.ts';
import type { RemoteHost } from '../hosts/types.ts';
import { PalisadeError, errorMessage } from '../core/errors.ts';
import { settleLimit } from '../core/limit.ts';
import { redact } from '../core/log.ts';
import { escrowIndex, gatherAll } from './apply.ts';
import { planEncryption } from './plan.ts';
import { recoveryKeyName } from './settings.ts';
import { tangAdvertisementCommand } from './commands.ts';
import { advertisementSigningKeys, thumbprintMatches } from './jwk.ts';
import type { Binding, DiskAction, EscrowStore, HostEncryptionSettings } from './types.ts';
import { verifyDisk, type DiskVerification } from './verify.ts';

export interface StatusOptions {
  config: PalisadeConfig;
  hosts: readonly RemoteHost[];
  /** with a keystore, each disk's escrowed recovery key is tried too */
  keystore?: EscrowStore;
  concurrency?: number;
}

export interface DiskStatus {
  device: string;
  /** what `apply` would do now (nothing: as configured) */
  pending: DiskAction;
  reason: string;
  /** "bound, not opened", "open", "mounted at /x", "not encrypted" */
  state: string;
  verification: DiskVerification | undefined;
  ok: boolean;
}

export interface HostStatus {
  host: string;
  mode: HostEncryptionSettings['mode'];
  ok: boolean;
  error?: string;
  /** host-wide findings: a Tang server the host cannot reach, a pinned key no longer advertised */
  problems: string[];
  disks: DiskStatus[];
}

export interface EncryptionStatusReport {
  hosts: HostStatus[];
  ok: boolean;
}

/** Verify every encrypted disk of every host and compare it with the config. Changes nothing. */
export async function encryptionStatus(o: StatusOptions): Promise<EncryptionStatusReport> {
  const concurrency = o.concurrency ?? o.config.ssh.concurrency;
  const { facts, errors } = await gatherAll(o.config, o.hosts, concurrency);
  const plan = planEncryption({ config: o.config, facts, ...(o.keystore ? { escrow: escrowIndex(o.config, o.keystore) } : {}) });
  const byName = new Map(o.hosts.map((h) => [h.name, h]));
  const settled = await settleLimit(plan.hosts, concurrency, async (hp): Promise<HostStatus> => {
    const host = byName.get(hp.host)!;
    const hf = facts.get(hp.host)!;
    const disks: DiskStatus[] = [];
    for (const [i, d] of hp.disks.entries()) {
      const df = hf.disks.find((x) => x.device === d.device);
      const encrypted = !!df?.luks;
      let verification: DiskVerification | undefined;
      if (encrypted) {
        const entry = o.keystore?.get(recoveryKeyName(hp.host, d.device));
        if (entry) redact.add(entry.value);
        verification = await verifyDisk(host, d.device, {
          binding: hp.binding,
          recoveryKey: o.keystore ? (entry?.value ?? null) : undefined,
          expectedCipher: hp.settings.cipher,
          ...(entry?.meta?.uuid ? { expectedUuid: entry.meta.uuid } : {}),
        });
      }
      const state = !encrypted
        ? 'not encrypted'
        : df?.mapped
          ? i === 0 && hf.mountActive
            ? `mounted at ${hp.settings.mountPoint}`
            : 'open'
          : hf.deviceMapper
            ? 'closed'
            : 'bound, not opened';
      disks.push({ device: d.device, pending: d.action, reason: d.reason, state, verification, ok: d.action === 'nothing' && !!verification?.ok });
    }
    const problems = hp.binding ? await tangProblems(host, hp.binding) : [];
    return { host: hp.host, mode: hp.mode, ok: disks.every((d) => d.ok) && problems.length === 0, problems, disks };
  });
  const hosts: HostStatus[] = settled.map((r, i) => {
    const hp = plan.hosts[i]!;
    return r.status === 'fulfilled' ? r.value : { host: hp.host, mode: hp.mode, ok: false, error: describe(r.reason), problems: [], disks: [] };
  });
  for (const [host, e] of errors) {
    const hc = o.config.hosts.find((h) => h.name === host);
    hosts.push({ host, mode: hc?.encryption?.mode ?? o.config.encryption.mode, ok: false, error: describe(e), problems: [], disks: [] });
  }
  const order = new Map(o.config.hosts.map((h, i) => [h.name, i]));
  hosts.sort((a, b) => (order.get(a.host) ?? 0) - (order.get(b.host) ?? 0));
  return { hosts, ok: hosts.every((h) => h.ok) };
}

/**
 * The Tang servers as the host sees them now: reachable, and still advertising
 * the pinned key. A rotated key keeps old bindings working (tangd keeps serving
 * rotated keys) but new ones use the new key, so the operator should rebind.
 */
async function tangProblems(host: RemoteHost, binding: Binding): Promise<string[]> {
  const out: string[] = [];
  const tang: Array<Extract<Binding, { pin: 'tang' }>> = [];
  const walk = (b: Binding): void => {
    if (b.pin === 'tang') tang.push(b);
    else if (b.pin === 'sss') b.pins.forEach(walk);
  };
  walk(binding);
  for (const t of tang) {
    const r = await host.exec(tangAdvertisementCommand(t.url), { sudo: true });
    if (r.code !== 0) {
      out.push(`Tang server ${t.url} is unreachable from the host: disks bound to it will not unlock at boot without it`);
      continue;
    }
    try {
      if (!thumbprintMatches(t.thumbprints[0] ?? '', advertisementSigningKeys(r.stdout))) {
        out.push(
          `Tang server ${t.url} no longer advertises the pinned key (rotated?): set its new thumbprint in encryption.tang and run \`palisade encryption apply\` to rebind`,
        );
      }
    } catch {
      out.push(`${t.url} did not answer with a Tang advertisement`);
    }
  }
  return out;
}

function describe(e: unknown): string {
  return e instanceof PalisadeError ? `[${e.code}] ${e.message}` : redact.apply(errorMessage(e));
}
