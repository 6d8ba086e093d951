import { MOUNT_TARGETS, UNUSED_MODULES } from '../targets.ts';
import type { HostState, Rule } from '../types.ts';

/**
 * Kernel modules an appliance host never needs, refused through modprobe
 * (CIS Debian 12, 1.1.1 and 3.2), and the mount options of the shared
 * temporary directories (1.1.2.1, 1.1.2.2). In a container the kernel is the
 * machine's: modprobe's files are still written (they hold if the image boots
 * as a machine), and the report says so.
 */
const norm = (m: string) => m.replace(/-/g, '_');

/** modules refused by an `install M /bin/false` (or /bin/true) line */
export function refusedModules(s: HostState): Set<string> {
  const out = new Set<string>();
  for (const l of s.modprobe) {
    const x = /^install\s+(\S+)\s+(\/usr)?\/bin\/(false|true)\s*$/.exec(l);
    if (x) out.add(norm(x[1]!));
  }
  return out;
}

const moduleRules: Rule[] = UNUSED_MODULES.map(
  (m): Rule => ({
    id: m.id,
    title: m.title,
    area: 'kernel',
    ...(m.cis ? { cis: m.cis } : {}),
    check(s) {
      const refused = refusedModules(s);
      const open = m.modules.filter((x) => !refused.has(norm(x)));
      const where = s.container !== 'none' ? ` (a ${s.container} container: the machine's kernel decides)` : '';
      if (open.length === 0) return { status: 'pass', detail: `modprobe refuses ${m.modules.join(', ')}${where}` };
      return { status: 'fail', detail: `modprobe may load ${open.join(', ')}${where}`, fixes: open.map((module) => ({ kind: 'modprobe', module })) };
    },
  }),
);

const overlay: Rule = {
  id: 'kernel.module-overlay',
  title: 'overlayfs stays available: containerd keeps container images on it (CIS 1.1.1.6 asks for it off, which would stop every pod)',
  area: 'kernel',
  cis: '1.1.1.6',
  check(s) {
    return {
      status: 'na',
      detail: refusedModules(s).has('overlay')
        ? 'overlay is refused by modprobe: containerd cannot start containers (remove that line)'
        : 'kept for containerd (k3s) image layers',
    };
  },
};

const WANT = ['nodev', 'nosuid', 'noexec'];

function mountRule(target: string, id: string, cis: string): Rule {
  return {
    id,
    title: `${target} is mounted nodev, nosuid, noexec (nothing run or device opened from a directory every user writes)`,
    area: 'files',
    cis,
    check(s) {
      const m = s.mounts[target];
      if (!m) return { status: 'na', detail: `${target} is not a file system of its own (CIS asks for one; palisade does not repartition a host)` };
      const missing = WANT.filter((o) => !m.options.includes(o));
      if (missing.length === 0) return { status: 'pass', detail: `${target} ${m.fstype} ${WANT.join(',')}` };
      return {
        status: 'fail',
        detail: `${target} (${m.fstype}) is mounted without ${missing.join(', ')}`,
        fixes: [{ kind: 'mount', target, fstype: m.fstype, options: WANT }],
      };
    },
  };
}

const mountIds: Record<string, [string, string]> = { '/tmp': ['files.tmp-mount', '1.1.2.1.2-4'], '/dev/shm': ['files.dev-shm-mount', '1.1.2.2.2-4'] };

export const kernelRules: Rule[] = [...moduleRules, overlay];
export const mountRules: Rule[] = MOUNT_TARGETS.map((t) => mountRule(t, mountIds[t]![0], mountIds[t]![1]));
