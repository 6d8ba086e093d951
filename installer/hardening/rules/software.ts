import { BANNER_TEXT } from './ssh.ts';
import { ISSUE, ISSUE_NET, LEGACY_PACKAGES } from '../targets.ts';
import type { Rule } from '../types.ts';

/**
 * Legacy network services, X servers and desktop services removed where they
 * are installed (CIS Debian 12, 2.1 and 2.2), and the login banners (1.6):
 * no OS name or version in them (it tells an attacker what to try).
 */
const installed = (status: string) => status.startsWith('i') || status.startsWith('h');

export const softwareRules: Rule[] = LEGACY_PACKAGES.map((p) => ({
  id: p.id,
  title: p.title,
  area: 'software' as const,
  cis: p.cis,
  check(s) {
    const found = p.packages.filter((n) => s.packages[n] && installed(s.packages[n]!.status));
    const units = (p.units ?? []).filter((u) => s.units[u] && s.units[u]!.enabled === 'enabled');
    if (found.length === 0 && units.length === 0) return { status: 'pass' as const, detail: 'not installed' };
    return {
      status: 'fail' as const,
      detail: `installed: ${[...found, ...units].join(', ')}`,
      fixes: [...(units.length ? [{ kind: 'disable' as const, units }] : []), ...(found.length ? [{ kind: 'purge' as const, packages: found }] : [])],
    };
  },
}));

// the getty escapes that print the OS (\m machine, \r release, \s system, \v version) and the OS name itself
const OS_INFO = /\\[mrsv]|debian|ubuntu|gnu\/linux/i;

export const bannerRules: Rule[] = [
  { path: ISSUE, id: 'banner.issue', cis: '1.6.2', title: 'the local login banner warns and names no OS' },
  { path: ISSUE_NET, id: 'banner.issue-net', cis: '1.6.3', title: 'the remote login banner warns and names no OS' },
].map((b) => ({
  id: b.id,
  title: b.title,
  area: 'banner' as const,
  cis: b.cis,
  check(s) {
    const t = s.text[b.path];
    if (t !== undefined && t.trim() !== '' && !OS_INFO.test(t))
      return { status: 'pass' as const, detail: `${b.path}: ${t.trim().split('\n')[0]!.slice(0, 60)}` };
    return {
      status: 'fail' as const,
      detail: t === undefined || t.trim() === '' ? `${b.path} is empty or missing` : `${b.path} names the OS: ${t.trim().split('\n')[0]!.slice(0, 60)}`,
      fixes: [{ kind: 'file' as const, path: b.path, content: BANNER_TEXT, mode: 0o644 }],
    };
  },
}));
