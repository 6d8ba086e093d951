import type { RemoteHost } from '../hosts/types.ts';
import { PalisadeError } from '../core/errors.ts';
import { BIND_LOCK_BUSY, BIND_LOCK_WAIT_SECONDS, clevisBindCommand, clevisUnbindCommand, waitForBindCommand } from './commands.ts';
import { bindingMatches, describeBinding } from './luks.ts';
import { lastLines } from './host-step.ts';
import { usesTang } from './plan.ts';
import type { Binding } from './types.ts';
import { findKeySlot, readHeader } from './verify.ts';

/**
 * Binding a disk so that an interrupted run is put right by the next one, in
 * that run. A killed run's clevis goes on on the host after its caller is
 * gone; every bind holds the device's bind lock while it runs, so the next
 * run first waits for such a bind to finish, then reads the header: a binding
 * it finished is taken as done, and any second copy of the binding (or a
 * stale one) is removed before the disk is verified. The recovery key's slot
 * and other tools' tokens are never touched.
 */

export interface BindResult {
  /** false: the binding was already there (made by an interrupted run) */
  bound: boolean;
  /** key slots removed afterwards: duplicates or stale bindings */
  removed: number[];
}

export async function bindDisk(host: RemoteHost, device: string, binding: Binding, key: string, escrowName: string): Promise<BindResult> {
  const hint = `the disk is LUKS2 and its recovery key is in the keystore (${escrowName}); fix the cause and re-run: the next run only binds`;
  await waitForOtherBind(host, device, hint);
  const before = await readHeader(host, device);
  const already = before.header?.tokens.some((t) => bindingMatches(t.binding, binding)) === true;
  if (!already) {
    const r = await host.exec(clevisBindCommand(device, binding), { sudo: true, stdin: key });
    if (r.code !== 0) {
      if (r.code === BIND_LOCK_BUSY) throw busy(host, device, hint);
      const why = lastLines(r.stderr || r.stdout) || `exit ${r.code}`;
      const tangDown = /fetch advertisement|curl|connect/i.test(why) && usesTang(binding);
      throw new PalisadeError(
        tangDown ? 'encryption.tang-unreachable' : binding.pin === 'tpm2' ? 'encryption.tpm' : 'encryption.bind',
        `${host.name}: binding ${describeBinding(binding)} to ${device} failed: ${why}`,
        { hint },
      );
    }
  }
  return { bound: !already, removed: await dropExtraBindings(host, device, binding, key) };
}

const busy = (host: RemoteHost, device: string, hint: string): PalisadeError =>
  new PalisadeError(
    'encryption.bind-busy',
    `${host.name}: another bind of ${device} is still running after ${BIND_LOCK_WAIT_SECONDS} s (a clevis left by an earlier run)`,
    {
      hint: `see \`ps -ef | grep clevis\` on the host; ${hint}`,
    },
  );

/** A bind left running by a killed run finishes (or fails) before this run looks at the header. */
async function waitForOtherBind(host: RemoteHost, device: string, hint: string): Promise<void> {
  const r = await host.exec(waitForBindCommand(device), { sudo: true, timeoutMs: (BIND_LOCK_WAIT_SECONDS + 30) * 1000 });
  if (r.code === BIND_LOCK_BUSY) throw busy(host, device, hint);
  if (r.code !== 0)
    throw new PalisadeError(
      'encryption.bind',
      `${host.name}: cannot take the bind lock of ${device} (exit ${r.code}): ${lastLines(r.stderr || r.stdout) || 'no output'}`,
      { hint },
    );
}

/** Keep one binding as configured; unbind the other clevis slots (never the recovery key's). */
async function dropExtraBindings(host: RemoteHost, device: string, binding: Binding, key: string): Promise<number[]> {
  const h = await readHeader(host, device);
  if (!h.header) return [];
  const keep = h.header.tokens.find((t) => bindingMatches(t.binding, binding));
  const extra = h.header.tokens.filter((t) => t !== keep);
  if (extra.length === 0) return [];
  const recovery = await findKeySlot(host, device, key);
  const protectedSlots = new Set([
    ...(keep?.keyslots ?? []),
    ...h.header.otherTokens.flatMap((t) => t.keyslots),
    ...(recovery.slot !== undefined ? [recovery.slot] : []),
  ]);
  // without knowing the recovery slot nothing is removed: verification reports the extra binding
  if (!recovery.ok || recovery.slot === undefined) return [];
  const removed: number[] = [];
  for (const slot of [...new Set(extra.flatMap((t) => t.keyslots))].filter((s) => !protectedSlots.has(s)).sort((a, b) => a - b)) {
    const r = await host.exec(clevisUnbindCommand(device, slot), { sudo: true });
    if (r.code !== 0) {
      throw new PalisadeError(
        'encryption.unbind',
        `${host.name}: removing the extra binding in slot ${slot} of ${device} failed (exit ${r.code}): ${lastLines(r.stderr || r.stdout) || 'no output'}`,
        {
          hint: 'the configured binding is in place; re-run to remove the extra one',
        },
      );
    }
    removed.push(slot);
  }
  return removed;
}
