import { errorMessage } from '../core/errors.ts';
import { log } from '../core/log.ts';
import { shq as quoteScript } from '../core/quote.ts';
import type { RemoteHost } from '../hosts/types.ts';
import { sshdCommitScript, sshdRestoreScript, sshdWriteScript } from './fixes.ts';

/**
 * One sshd change that can never lock the operator out: write palisade's
 * drop-in, `sshd -t`, reload, then prove that a fresh key login works (a new
 * SSH connection, not the one that made the change: a reload leaves existing
 * sessions alone). If sshd refuses the file, or the login fails, the previous
 * files are put back (and sshd reloaded with them), through the connection that
 * is still open.
 */
export type SshdChangeResult = { ok: true } | { ok: false; stage: 'sshd -t' | 'login' | 'write'; message: string; restored: boolean };

export interface SshdChangeOptions {
  /** open a new SSH connection to the host the way palisade does, run a command, close it; rejects when login fails */
  proveLogin: () => Promise<void>;
}

export async function changeSshd(host: RemoteHost, dropin: string, o: SshdChangeOptions): Promise<SshdChangeResult> {
  const w = await host.exec(`sh -c ${quoteScript(sshdWriteScript(dropin))}`, { sudo: true, timeoutMs: 60_000 });
  if (w.code === 3) {
    const msg = (w.stdout.match(/^SSHD_T ([\s\S]*)$/m)?.[1] ?? w.stderr).trim();
    return {
      ok: false,
      stage: 'sshd -t',
      message: `sshd -t refused the hardened config, so it was not kept and sshd was not reloaded: ${msg}`,
      restored: true,
    };
  }
  if (w.code !== 0)
    return { ok: false, stage: 'write', message: `writing the sshd drop-in failed (exit ${w.code}): ${w.stderr.trim() || w.stdout.trim()}`, restored: false };
  try {
    await o.proveLogin();
  } catch (e) {
    log.warn(`${host.name}: a fresh SSH login failed after the sshd change (${errorMessage(e)}); putting the previous config back`);
    const r = await host.exec(`sh -c ${quoteScript(sshdRestoreScript())}`, { sudo: true, timeoutMs: 60_000 });
    let after = 'a fresh login works again';
    if (r.code !== 0) after = `restoring failed too (exit ${r.code}: ${r.stderr.trim()}); log in through the open session or the console`;
    else {
      try {
        await o.proveLogin();
      } catch (e2) {
        after = `but a fresh login still fails (${errorMessage(e2)}): the cause is not palisade's change`;
      }
    }
    return {
      ok: false,
      stage: 'login',
      message: `a fresh key login failed after the reload (${errorMessage(e)}); the previous sshd config was restored and reloaded, ${after}`,
      restored: r.code === 0,
    };
  }
  await host.exec(`sh -c ${quoteScript(sshdCommitScript())}`, { sudo: true, timeoutMs: 30_000 });
  return { ok: true };
}
