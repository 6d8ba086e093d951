/**
 * The lynis hardening index of one fresh lab host before and after `palisade harden`, and
 * the SSH warnings and suggestions lynis leaves. Exits 1 when the gain is under the aim
 * (+15 points) or an SSH warning is left, so it can gate a release.
 *
 * lynis comes from this machine's Debian package (scripts/setup installs it); its files are
 * copied onto the host, which has no route to a mirror. A fresh lab is brought up in DIR
 * (default .cache/labs/bench-lynis) and taken down at the end unless --keep.
 */
import { join, resolve } from 'node:path';
import { $ } from 'zx';
import { REPO_ROOT } from '../bundle/build-test-bundle.ts';
import { benchArgs, PALISADE } from './harness.ts';
import { LAB } from './lab-env.ts';

const values = benchArgs(
  `usage: node --import tsx scripts/bench/lynis.ts [--dir DIR] [--keep]

Brings up a fresh 1-host lab in DIR (default .cache/labs/bench-lynis; a lab there is taken down
first), copies lynis onto it, audits, runs palisade harden, audits again. Exit 1 when the gain
is under +15 points or an SSH warning is left. Takes the lab down unless --keep.`,
  { dir: { type: 'string', default: join(REPO_ROOT, '.cache/labs/bench-lynis') }, keep: { type: 'boolean', default: false } },
  1,
);
const dir = resolve(values.dir);
const keep = values.keep;
const AIM = 15;

const lab = async (args: string[]): Promise<void> => {
  await $({ quiet: true, timeout: '20m' })`${LAB} ${args} --dir ${dir}`;
};
const onHost = async (cmd: string): Promise<string> => (await $({ quiet: true, timeout: '10m' })`ssh -F ${join(dir, 'ssh_config')} host1 ${cmd}`).stdout;

async function audit(): Promise<{ index: number; warnings: string[]; ssh: string[]; suggestions: number }> {
  const out = await onHost('lynis audit system --quick --no-colors 2>/dev/null; cat /var/log/lynis-report.dat');
  const index = Number(/Hardening index : (\d+)/.exec(out)?.[1] ?? Number.NaN);
  const lines = out.split('\n');
  return {
    index,
    warnings: lines.filter((l) => l.startsWith('warning[]=')).map((l) => l.split('|')[0]!.slice(10)),
    ssh: lines.filter((l) => /^(warning|suggestion)\[\]=SSH/.test(l)).map((l) => l.split('|').slice(0, 3).join(' ')),
    suggestions: lines.filter((l) => l.startsWith('suggestion[]=')).length,
  };
}

await lab(['down']);
await lab(['up', '1']);
try {
  const files = (await $({ quiet: true })`dpkg -L lynis`).stdout.split('\n').filter(Boolean);
  const list = files.join('\n') + '\n';
  // regular files only (dpkg -L lists directories too), tarred from this machine straight onto the host
  await $({
    quiet: true,
    input: list,
    timeout: '10m',
  })`while read -r f; do if [ -f "$f" ]; then printf '%s\n' "$f"; fi; done | tar -cf - -T - 2>/dev/null | ssh -F ${join(dir, 'ssh_config')} host1 'tar -xf - -C /'`;
  const before = await audit();
  const h = await $({ quiet: true, nothrow: true, timeout: '10m' })`${process.execPath} ${PALISADE} harden -c ${join(dir, 'palisade.yaml')}`;
  const after = await audit();
  console.log(
    `lynis hardening index: ${before.index} before, ${after.index} after palisade harden (${after.index - before.index >= 0 ? '+' : ''}${after.index - before.index}; aim +${AIM})`,
  );
  console.log(`harden: ${h.stdout.trim().split('\n').pop()}`);
  console.log(`warnings: ${before.warnings.join(', ') || 'none'} before; ${after.warnings.join(', ') || 'none'} after`);
  console.log(`suggestions: ${before.suggestions} before, ${after.suggestions} after; SSH ones left: ${after.ssh.length ? after.ssh.join('; ') : 'none'}`);
  const sshWarnings = after.ssh.filter((l) => l.startsWith('warning'));
  process.exitCode = h.exitCode === 0 && after.index - before.index >= AIM && sshWarnings.length === 0 ? 0 : 1;
} finally {
  if (!keep) await lab(['down']);
}
