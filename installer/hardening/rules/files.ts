import { ACCOUNT_FILES, CRON_FILES, type FileTarget } from '../targets.ts';
import type { Rule, RuleArea } from '../types.ts';

/**
 * File permission rules (CIS Debian 12, 7.1 and 2.4.1): account databases and
 * their backups, cron's files. A fix only takes bits away (mode & allowed) and
 * sets the owner; it never loosens a stricter mode. World-writable and unowned
 * files are reported for the operator: which of them are wrong is theirs to say.
 */
const octal = (m: number) => m.toString(8).padStart(3, '0');

export function modeRule(t: FileTarget, id: string, title: string, area: RuleArea = 'files'): Rule {
  return {
    id,
    title,
    area,
    ...(t.cis ? { cis: t.cis } : {}),
    check(s) {
      const f = s.files[t.path];
      if (!f) return t.optional ? { status: 'na', detail: `${t.path} does not exist` } : { status: 'fail', detail: `${t.path} is missing`, manual: true };
      const extra = f.mode & ~t.maxMode & 0o7777;
      const ownerOk = f.owner === t.owner && t.groups.includes(f.group);
      if (!extra && ownerOk) return { status: 'pass', detail: `${t.path} ${octal(f.mode)} ${f.owner}:${f.group}` };
      const group = t.groups.includes(f.group) ? f.group : t.groups[0]!;
      return {
        status: 'fail',
        detail: `${t.path} is ${octal(f.mode)} ${f.owner}:${f.group}, wanted ${octal(t.maxMode)} or stricter, ${t.owner}:${t.groups.join('|')}`,
        fixes: [{ kind: 'mode', path: t.path, mode: f.mode & t.maxMode, owner: t.owner, group }],
      };
    },
  };
}

const name = (p: string) =>
  p
    .replace(/^\/etc\//, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/-+$/, '')
    .replace(/-$/, '') + (p.endsWith('-') ? '-backup' : '');

const list = (xs: string[], n = 5) => `${xs.slice(0, n).join(', ')}${xs.length > n ? ` and ${xs.length - n} more` : ''}`;

export const fileRules: Rule[] = [
  ...ACCOUNT_FILES.map((t) => modeRule(t, `files.${name(t.path)}`, `${t.path} is ${octal(t.maxMode)} or stricter, ${t.owner}:${t.groups.join('|')}`)),
  ...CRON_FILES.map((t) =>
    modeRule(t, `files.${name(t.path)}`, `${t.path} is ${octal(t.maxMode)} or stricter, ${t.owner}:${t.groups[0]} (only root reads cron's jobs)`),
  ),
  {
    id: 'files.world-writable',
    title: 'no world-writable files, and world-writable directories have the sticky bit',
    area: 'files',
    cis: '7.1.11',
    check(s) {
      const all = [...s.worldWritable, ...s.worldWritableDirs.map((d) => `${d}/ (no sticky bit)`)];
      if (all.length === 0) return { status: 'pass', detail: 'none found (outside /proc, /sys, /dev, /run, /tmp, /var/tmp)' };
      return { status: 'fail', manual: true, detail: `${all.length} found: ${list(all)}` };
    },
  },
  {
    id: 'files.unowned',
    title: 'every file has a known owner and group',
    area: 'files',
    cis: '7.1.12',
    check(s) {
      if (s.unowned.length === 0) return { status: 'pass', detail: 'none found' };
      return { status: 'fail', manual: true, detail: `${s.unowned.length} found: ${list(s.unowned)}` };
    },
  },
];
