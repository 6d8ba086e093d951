/** What `up` needs of this machine before it makes anything: the tools, root, and enough inotify instances. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { which } from 'zx';
import { LabError, say } from './sys.ts';

export async function requireTools(tpm: boolean): Promise<void> {
  const need = ['systemd-nspawn', 'debootstrap', 'losetup', 'ip', 'ssh', 'ssh-keygen', 'socat', 'truncate'];
  if (tpm) need.push('swtpm');
  const found = await Promise.all(need.map((t) => which(t, { nothrow: true })));
  const missing = need.filter((_, i) => !found[i]);
  if (!existsSync('/usr/libexec/tangd')) missing.push('tang (/usr/libexec/tangd)');
  if (missing.length) throw new LabError(`missing tools: ${missing.join(', ')} — run \`bash scripts/setup\` first`);
  if (process.getuid?.() !== 0) throw new LabError('the lab needs root (network namespaces, loop devices, nspawn)');
}

/**
 * Every machine's systemd takes several inotify instances, all counted against root on this
 * machine: the default 128 runs out at about four labs ("Failed to allocate manager object: Too
 * many open files"). Raised, never lowered; a machine-wide setting, not a lab resource.
 */
export function raiseLimits(): void {
  const want: [string, number][] = [
    ['fs/inotify/max_user_instances', 8192],
    ['fs/inotify/max_user_watches', 524288],
  ];
  for (const [key, min] of want) {
    const path = `/proc/sys/${key}`;
    try {
      if (Number(readFileSync(path, 'utf8').trim()) < min) writeFileSync(path, `${min}\n`);
    } catch (e) {
      say(`cannot raise ${key.replaceAll('/', '.')} to ${min}: ${(e as Error).message}`);
    }
  }
}
