import type { Rule } from '../types.ts';

/**
 * Account defaults (CIS Debian 12, 5.4 and 1.5): password ageing, the default
 * umask and the hash for new passwords in /etc/login.defs, and no core dumps
 * (a core of a set-id program can hold secrets). palisade's own logins use keys;
 * these apply to the people who have accounts on the hosts.
 */
type Want = { id: string; title: string; cis: string; key: string; ok: (v: string | undefined) => boolean; set: string };

const defs: Want[] = [
  { id: 'accounts.pass-max-days', title: 'passwords expire within 365 days', cis: '5.4.1.1', key: 'PASS_MAX_DAYS', ok: (v) => Number(v) > 0 && Number(v) <= 365, set: '365' },
  { id: 'accounts.pass-min-days', title: 'a password is kept at least a day before it is changed again', cis: '5.4.1.2', key: 'PASS_MIN_DAYS', ok: (v) => Number(v) >= 1, set: '1' },
  { id: 'accounts.umask', title: 'new files are not readable by others by default (UMASK 027)', cis: '5.4.3.3', key: 'UMASK', ok: (v) => v !== undefined && /^0?[0-7]{3}$/.test(v) && (parseInt(v, 8) & 0o027) === 0o027, set: '027' },
  { id: 'accounts.password-hash', title: 'new passwords are hashed with yescrypt or SHA-512', cis: '5.4.1.4', key: 'ENCRYPT_METHOD', ok: (v) => v === 'YESCRYPT' || v === 'SHA512', set: 'YESCRYPT' },
];

export const CORE_LIMITS_FILE = '/etc/security/limits.d/60-palisade-hardening.conf';

export const accountRules: Rule[] = [
  ...defs.map((d): Rule => ({
    id: d.id, title: d.title, area: 'accounts', cis: d.cis,
    check(s) {
      const v = s.loginDefs[d.key];
      if (d.ok(v)) return { status: 'pass', detail: `${d.key} ${v}` };
      return { status: 'fail', detail: `${d.key} is ${v ?? '(unset)'}`, fixes: [{ kind: 'logindefs', key: d.key, value: d.set }] };
    },
  })),
  {
    id: 'accounts.core-dumps', title: 'core dumps off for every user (hard limit 0)', area: 'accounts', cis: '1.5.3',
    check(s) {
      if (s.coreLimits.some((l) => /\s0$/.test(l))) return { status: 'pass', detail: s.coreLimits.join('; ') };
      return { status: 'fail', detail: s.coreLimits.length ? s.coreLimits.join('; ') : 'no hard core limit', fixes: [{ kind: 'file', path: CORE_LIMITS_FILE, content: '# written by palisade harden (CIS Debian 12, 1.5.3)\n*    hard    core    0\n', mode: 0o644 }] };
    },
  },
];
