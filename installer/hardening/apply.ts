import { errorMessage } from '../core/errors.ts';
import { shq } from '../core/quote.ts';
import type { RemoteHost } from '../hosts/types.ts';
import type { HostPlan } from './evaluate.ts';
import {
  disableScript,
  filesScript,
  loginDefsScript,
  modesScript,
  modprobeFileContent,
  modprobeScript,
  mountScript,
  purgeScript,
  sshdDropinContent,
  sysctlFileContent,
  sysctlScript,
} from './fixes.ts';
import { changeSshd, type SshdChangeOptions } from './ssh-change.ts';
import { MODPROBE_FILE, SSHD_DROPIN, SYSCTL_FILE } from './targets.ts';
import type { Fix, HostState } from './types.ts';

/**
 * Applies one host's plan: the fixes grouped by kind, each kind one command,
 * sshd last (its change is proven by a fresh login before it is kept). Returns
 * the rules whose fix failed, with why; the caller re-checks the host to say
 * what is now right.
 */
type Of<K extends Fix['kind']> = Extract<Fix, { kind: K }>;

export interface ApplyOptions extends SshdChangeOptions {
  /** what each step did, for the operator */
  onChange?: (line: string) => void;
}

export async function applyHostPlan(host: RemoteHost, state: HostState, plan: HostPlan, o: ApplyOptions): Promise<Map<string, string>> {
  const failed = new Map<string, string>();
  const of = <K extends Fix['kind']>(k: K) => plan.fixes.filter((f): f is { rule: string; fix: Of<K> } => f.fix.kind === k);
  const step = async (kind: string, items: Array<{ rule: string }>, script: string, ok: string) => {
    if (items.length === 0) return;
    try {
      const r = await host.exec(`sh -c ${shq(script)}`, { sudo: true, timeoutMs: 300_000 });
      if (r.code === 0) return o.onChange?.(ok);
      const why = /^EXTRA (.*)$/m.exec(r.stdout)?.[1];
      const msg = why
        ? `not removed: apt would also remove ${why.trim()} (remove by hand, or add an exception)`
        : `${kind} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim().split('\n').slice(-2).join(' ')}`;
      for (const i of items) failed.set(i.rule, msg);
    } catch (e) {
      for (const i of items) failed.set(i.rule, `${kind} failed: ${errorMessage(e)}`);
    }
  };

  const modes = of('mode');
  await step('chmod/chown', modes, modesScript(modes.map((m) => m.fix)), `modes and owners of ${modes.map((m) => m.fix.path).join(', ')}`);
  const files = of('file');
  await step('writing files', files, filesScript(files.map((f) => f.fix)), `wrote ${[...new Set(files.map((f) => f.fix.path))].join(', ')}`);
  const defs = of('logindefs');
  await step('login.defs', defs, loginDefsScript(defs.map((d) => d.fix)), `login.defs: ${defs.map((d) => `${d.fix.key} ${d.fix.value}`).join(', ')}`);
  const sysctls = of('sysctl');
  await step(
    'sysctl',
    sysctls,
    sysctlScript(
      sysctlFileContent(
        state.text[SYSCTL_FILE],
        sysctls.map((s) => s.fix),
      ),
      sysctls.map((s) => s.fix),
    ),
    `kernel parameters in ${SYSCTL_FILE}`,
  );
  const mods = of('modprobe');
  await step(
    'modprobe',
    mods,
    modprobeScript(
      modprobeFileContent(
        state.text[MODPROBE_FILE],
        mods.map((m) => m.fix),
      ),
      mods.map((m) => m.fix),
    ),
    `kernel modules refused in ${MODPROBE_FILE}: ${mods.map((m) => m.fix.module).join(', ')}`,
  );
  for (const m of of('mount')) await step('remount', [m], mountScript(m.fix), `${m.fix.target} mounted ${m.fix.options.join(',')} (now and in /etc/fstab)`);
  for (const d of of('disable')) await step('disabling units', [d], disableScript(d.fix.units), `disabled and masked ${d.fix.units.join(', ')}`);
  for (const p of of('purge')) await step('purging packages', [p], purgeScript(p.fix.packages), `purged ${p.fix.packages.join(', ')}`);

  const sshd = of('sshd');
  if (sshd.length) {
    if (!state.sshdValid) {
      // the files as they are already fail: a change on top could not be told apart from the breakage
      const msg = `sshd's config does not pass sshd -t as it is, so palisade does not change it: ${state.sshdError ?? ''}`.trim();
      for (const s of sshd) failed.set(s.rule, msg);
    } else {
      const directives = Object.assign({}, ...sshd.map((s) => s.fix.directives)) as Record<string, string>;
      const forUser = Object.assign({}, ...sshd.map((s) => s.fix.forLoginUser ?? {})) as Record<string, string>;
      try {
        const r = await changeSshd(host, sshdDropinContent(state.text[SSHD_DROPIN], directives, { user: state.loginUser, directives: forUser }), o);
        if (r.ok)
          o.onChange?.(
            `sshd: ${Object.keys(directives).join(', ')}${Object.keys(forUser).length ? `; for ${state.loginUser} alone: ${Object.keys(forUser).join(', ')}` : ''} (sshd -t passed, reloaded, a fresh key login works)`,
          );
        else for (const s of sshd) failed.set(s.rule, r.message);
      } catch (e) {
        for (const s of sshd) failed.set(s.rule, `sshd change failed: ${errorMessage(e)}`);
      }
    }
  }
  return failed;
}
