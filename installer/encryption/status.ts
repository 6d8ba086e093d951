import type { PalisadeConfig } from '../config/schema.ts';
import type { RemoteHost } from '../hosts/types.ts';
import { PalisadeError, errorMessage } from '../core/errors.ts';
import { settleLimit } from '../core/limit.ts';
import { redact } from '../core/log.ts';
import { escrowIndex, gatherAll } from './apply.ts';
import { planEncryption } from './plan.ts';
import { recoveryKeyName } from './settings.ts';
import type { DiskAction, EscrowStore, HostEncryptionSettings } from './types.ts';
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
    return { host: hp.host, mode: hp.mode, ok: disks.every((d) => d.ok), disks };
  });
  const hosts: HostStatus[] = settled.map((r, i) => {
    const hp = plan.hosts[i]!;
    return r.status === 'fulfilled' ? r.value : { host: hp.host, mode: hp.mode, ok: false, error: describe(r.reason), disks: [] };
  });
  for (const [host, e] of errors) {
    const hc = o.config.hosts.find((h) => h.name === host);
    hosts.push({ host, mode: hc?.encryption?.mode ?? o.config.encryption.mode, ok: false, error: describe(e), disks: [] });
  }
  const order = new Map(o.config.hosts.map((h, i) => [h.name, i]));
  hosts.sort((a, b) => (order.get(a.host) ?? 0) - (order.get(b.host) ?? 0));
  return { hosts, ok: hosts.every((h) => h.ok) };
}

function describe(e: unknown): string {
  return e instanceof PalisadeError ? `[${e.code}] ${e.message}` : redact.apply(errorMessage(e));
}
