/**
 * The lynis hardening index of one fresh lab host before and after `palisade harden`, and
 * the SSH warnings and suggestions lynis leaves. Exits 1 when the gain is under the aim
 * (+15 points) or an SSH warning is left, so it can gate a release.
 *
 *   npx tsx scripts/bench/lynis.ts [--dir DIR] [--keep]
 *
 * lynis comes from this machine's Debian package (scripts/setup installs it); its files are
 * copied onto the host, which has no route to a mirror. A fresh lab is brought up in DIR
 * (default .cache/labs/bench-lynis) and taken down at the end unless --keep.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '../..');
const argv = process.argv.slice(2);
const at = argv.indexOf('--dir');
const dir = resolve(at >= 0 && argv[at + 1] ? argv[at + 1]! : join(repo, '.cache/labs/bench-lynis'));
const keep = argv.includes('--keep');
const AIM = 15;

const lab = (args: string[]) => {
  const r = spawnSync(join(repo, 'scripts/lab'), [...args, '--dir', dir], { encoding: 'utf8', timeout: 20 * 60_000 });
  if (r.status !== 0) throw new Error(`scripts/lab ${args.join(' ')}: ${r.stderr.trim().split('\n').pop()}`);
};
const onHost = (cmd: string, input?: Buffer) => execFileSync('ssh', ['-F', join(dir, 'ssh_config'), 'host1', cmd], { timeout: 600_000, maxBuffer: 64 << 20, ...(input ? { input } : {}) }).toString();

function audit(): { index: number; warnings: string[]; ssh: string[]; suggestions: number } {
  const out = onHost('lynis audit system --quick --no-colors 2>/dev/null; cat /var/log/lynis-report.dat');
  const index = Number(/Hardening index : (\d+)/.exec(out)?.[1] ?? Number.NaN);
  const lines = out.split('\n');
  return {
    index,
    warnings: lines.filter((l) => l.startsWith('warning[]=')).map((l) => l.split('|')[0]!.slice(10)),
    ssh: lines.filter((l) => /^(warning|suggestion)\[\]=SSH/.test(l)).map((l) => l.split('|').slice(0, 3).join(' ')),
    suggestions: lines.filter((l) => l.startsWith('suggestion[]=')).length,
  };
}

lab(['down']);
lab(['up', '1']);
try {
  const files = execFileSync('dpkg', ['-L', 'lynis'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  const tar = execFileSync('sh', ['-c', 'for f in "$@"; do [ -f "$f" ] && printf "%s\\n" "$f"; done | tar -cf - -T -', 'sh', ...files], { maxBuffer: 64 << 20 });
  onHost('tar -xf - -C /', tar);
  const before = audit();
  const h = spawnSync(process.execPath, [join(repo, 'installer/bin/palisade.js'), 'harden', '-c', join(dir, 'palisade.yaml')], { encoding: 'utf8', timeout: 600_000 });
  const after = audit();
  console.log(`lynis hardening index: ${before.index} before, ${after.index} after palisade harden (${after.index - before.index >= 0 ? '+' : ''}${after.index - before.index}; aim +${AIM})`);
  console.log(`harden: ${h.stdout.trim().split('\n').pop()}`);
  console.log(`warnings: ${before.warnings.join(', ') || 'none'} before; ${after.warnings.join(', ') || 'none'} after`);
  console.log(`suggestions: ${before.suggestions} before, ${after.suggestions} after; SSH ones left: ${after.ssh.length ? after.ssh.join('; ') : 'none'}`);
  const sshWarnings = after.ssh.filter((l) => l.startsWith('warning'));
  process.exitCode = h.status === 0 && after.index - before.index >= AIM && sshWarnings.length === 0 ? 0 : 1;
} finally {
  if (!keep) lab(['down']);
}
