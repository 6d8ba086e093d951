import type { LoadedConfig } from '../config/load.ts';
import { runInstall } from '../phases/run-install.ts';
import { runFailure } from '../phases/run-failure.ts';

/**
 * `palisade install` after its flags are parsed: run the install, print the
 * outcome (the plan of a dry run, the summary, or the JSON line), and turn a
 * failed run into the error the operator sees. Returns the exit code.
 */
export interface InstallFlags {
  bundle?: string;
  trustedKey?: string;
  dryRun?: boolean;
  from?: string;
  only?: string;
  yes?: boolean;
  output: 'text' | 'json';
  passphraseFile?: string;
}

export async function installAction(loaded: LoadedConfig, o: InstallFlags): Promise<number> {
  const out = await runInstall({
    loaded,
    output: o.output,
    ...(o.bundle ? { bundle: o.bundle } : {}),
    ...(o.trustedKey ? { trustedKey: o.trustedKey } : {}),
    ...(o.dryRun ? { dryRun: true } : {}),
    ...(o.from ? { from: o.from } : {}),
    ...(o.only ? { only: o.only } : {}),
    ...(o.yes ? { yes: true } : {}),
    ...(o.passphraseFile ? { passphraseFile: o.passphraseFile } : {}),
  });
  const r = out.result;
  const secs = (r.durationMs / 1000).toFixed(1);
  if (o.output === 'json') {
    process.stdout.write(
      JSON.stringify({
        phase: 'install',
        status: r.ok ? (o.dryRun ? 'planned' : r.upToDate ? 'up-to-date' : 'done') : r.interrupted ? 'interrupted' : 'failed',
        durationMs: r.durationMs,
        ...(o.dryRun ? { plan: r.plan } : {}),
      }) + '\n',
    );
  } else if (o.dryRun) {
    const changes = r.plan.filter((p) => p.lines.length && !p.readOnly);
    const lines = r.plan.filter((p) => p.lines.length).map((p) => `  ${p.phase}${p.host ? ` @ ${p.host}` : ''}: ${p.lines.join('; ')}`);
    process.stdout.write(
      changes.length
        ? `dry run: the install would\n${lines.join('\n')}\nnothing was changed\n`
        : 'dry run: up to date; nothing would change (then verify and report)\n',
    );
  } else if (r.ok) {
    process.stdout.write(r.upToDate ? `up to date: nothing to change (checked in ${secs} s)\n` : `${out.summary ?? 'installed\n'}done in ${secs} s\n`);
  }
  if (r.ok) return 0;
  throw runFailure('install', r, 'fix the cause, then run the same command again: finished work is skipped');
}
