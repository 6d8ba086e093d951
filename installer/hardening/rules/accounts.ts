import { COREDUMP_DROPIN, PROFILE_FILE } from '../targets.ts';
import type { HostState, Rule } from '../types.ts';

/**
 * Account defaults (CIS Debian 12, 5.4 and 1.5): password ageing, the default
 * umask and the hash for new passwords in /etc/login.defs, and no core dumps
 * (a core of a set-id program can hold secrets). palisade's own logins use keys;
 * these apply to the people who have accounts on the hosts.
 */
type Want = { id: string; title: string; cis: string; key: string; ok: (v: string | undefined) => boolean; set: string };

const defs: Want[] = [
  {
    id: 'accounts.pass-max-days',
    title: 'passwords expire within 365 days',
    cis: '5.4.1.1',
    key: 'PASS_MAX_DAYS',
    ok: (v) => Number(v) > 0 && Number(v) <= 365,
    set: '365',
  },
  {
    id: 'accounts.pass-min-days',
    title: 'a password is kept at least a day before it is changed again',
    cis: '5.4.1.2',
    key: 'PASS_MIN_DAYS',
    ok: (v) => Number(v) >= 1,
    set: '1',
  },
  {
    id: 'accounts.umask',
    title: 'new files are not readable by others by default (UMASK 027)',
    cis: '5.4.3.3',
    key: 'UMASK',
    ok: (v) => v !== undefined && /^0?[0-7]{3}$/.test(v) && (parseInt(v, 8) & 0o027) === 0o027,
    set: '027',
  },
  // yescrypt ignores these; they pin SHA-512's cost should ENCRYPT_METHOD ever be changed to it (5000 is its weak default)
  {
    id: 'accounts.sha-crypt-min-rounds',
    title: 'SHA-512 password hashing uses at least 65536 rounds (SHA_CRYPT_MIN_ROUNDS)',
    cis: '',
    key: 'SHA_CRYPT_MIN_ROUNDS',
    ok: (v) => Number(v) >= 65536,
    set: '65536',
  },
  {
    id: 'accounts.sha-crypt-max-rounds',
    title: 'SHA-512 password hashing uses at least 65536 rounds (SHA_CRYPT_MAX_ROUNDS)',
    cis: '',
    key: 'SHA_CRYPT_MAX_ROUNDS',
    ok: (v) => Number(v) >= 65536,
    set: '65536',
  },
  {
    id: 'accounts.password-hash',
    title: 'new passwords are hashed with yescrypt or SHA-512',
    cis: '5.4.1.4',
    key: 'ENCRYPT_METHOD',
    ok: (v) => v === 'YESCRYPT' || v === 'SHA512',
    set: 'YESCRYPT',
  },
];

/** the last value systemd reads for a coredump.conf key (drop-ins after the main file, in name order) */
const lastOf = (lines: readonly string[], key: string) =>
  lines
    .map((l) => /^\s*(\w+)\s*=\s*(\S*)/.exec(l))
    .filter((m) => m && m[1]!.toLowerCase() === key.toLowerCase())
    .at(-1)?.[2];

/** `TMOUT=N` (1..900) made read-only, and `ulimit -c 0`, in the login shells' profile */
function shellProfile(s: HostState): { timeout: boolean; core: boolean } {
  const tmout = s.profile
    .map((l) => /^(?:export\s+|readonly\s+|typeset\s+-r\s+|declare\s+-r\s+)?TMOUT=(\d+)/.exec(l)?.[1])
    .filter((x): x is string => !!x)
    .map(Number);
  const ro = s.profile.some((l) => /^(readonly|typeset\s+-r|declare\s+-r)\s+TMOUT\b/.test(l));
  return {
    timeout: tmout.length > 0 && tmout.every((n) => n >= 1 && n <= 900) && ro,
    core: s.profile.some((l) => /^ulimit\s+(-[A-Za-z]*\s+)*-c\s+0\b/.test(l)),
  };
}

export const PROFILE_TEXT =
  '# written by palisade harden (CIS Debian 12, 5.4.3.2 and 1.5.3): idle login shells end after 15 minutes; no core dumps\nTMOUT=900\nreadonly TMOUT\nexport TMOUT\nulimit -c 0 2>/dev/null || true\n';

export const CORE_LIMITS_FILE = '/etc/security/limits.d/60-palisade-hardening.conf';

export const accountRules: Rule[] = [
  ...defs.map(
    (d): Rule => ({
      id: d.id,
      title: d.title,
      area: 'accounts',
      ...(d.cis ? { cis: d.cis } : {}),
      check(s) {
        const v = s.loginDefs[d.key];
        if (d.ok(v)) return { status: 'pass', detail: `${d.key} ${v}` };
        return { status: 'fail', detail: `${d.key} is ${v ?? '(unset)'}`, fixes: [{ kind: 'logindefs', key: d.key, value: d.set }] };
      },
    }),
  ),
  {
    id: 'accounts.core-dumps',
    title: 'core dumps off for every user (hard limit 0)',
    area: 'accounts',
    cis: '1.5.3',
    check(s) {
      if (s.coreLimits.some((l) => /\s0$/.test(l))) return { status: 'pass', detail: s.coreLimits.join('; ') };
      return {
        status: 'fail',
        detail: s.coreLimits.length ? s.coreLimits.join('; ') : 'no hard core limit',
        fixes: [
          { kind: 'file', path: CORE_LIMITS_FILE, content: '# written by palisade harden (CIS Debian 12, 1.5.3)\n*    hard    core    0\n', mode: 0o644 },
        ],
      };
    },
  },
  {
    id: 'accounts.coredump-storage',
    title: 'systemd-coredump keeps no core dumps (Storage=none, ProcessSizeMax=0)',
    area: 'accounts',
    cis: '1.5.3',
    check(s) {
      const storage = lastOf(s.coredump, 'Storage');
      const size = lastOf(s.coredump, 'ProcessSizeMax');
      if (storage?.toLowerCase() === 'none' && size === '0') return { status: 'pass', detail: 'Storage=none, ProcessSizeMax=0' };
      return {
        status: 'fail',
        detail: `Storage=${storage ?? '(default external)'}, ProcessSizeMax=${size ?? '(default 2G)'}`,
        fixes: [
          {
            kind: 'file',
            path: COREDUMP_DROPIN,
            content: '# written by palisade harden (CIS Debian 12, 1.5.3): no core dumps kept\n[Coredump]\nStorage=none\nProcessSizeMax=0\n',
            mode: 0o644,
          },
        ],
      };
    },
  },
  {
    id: 'accounts.login-shell',
    title: 'login shells: idle ones end after at most 15 minutes (read-only TMOUT) and dump no core (ulimit -c 0)',
    area: 'accounts',
    cis: '5.4.3.2',
    check(s) {
      const p = shellProfile(s);
      if (p.timeout && p.core) return { status: 'pass', detail: s.profile.join('; ') };
      const missing = [...(p.timeout ? [] : ['a read-only TMOUT of 1..900 s']), ...(p.core ? [] : ['ulimit -c 0'])];
      return {
        status: 'fail',
        detail: `the login profile lacks ${missing.join(' and ')}`,
        fixes: [{ kind: 'file', path: PROFILE_FILE, content: PROFILE_TEXT, mode: 0o644 }],
      };
    },
  },
];
