import { ISSUE_NET, SSHD_CONFIG, SSHD_CONFIG_DIR } from '../targets.ts';
import type { CheckResult, HostState, Rule } from '../types.ts';
import { modeRule } from './files.ts';

/**
 * SSH server rules (CIS Debian 12, 5.1). Checks read sshd's effective settings
 * for palisade's own user (`sshd -T -C user=...`), so a Match block that loosens
 * a setting for that user is seen. Every fix is one directive in palisade's
 * drop-in; the drop-in is applied as one change that must pass `sshd -t` and a
 * fresh key login before it is kept (ssh-change.ts).
 */

/** current algorithms only: no CBC, no SHA-1 or MD5 MACs, no small or SHA-1 key exchange */
export const STRONG = {
  ciphers: ['chacha20-poly1305@openssh.com', 'aes256-gcm@openssh.com', 'aes128-gcm@openssh.com', 'aes256-ctr', 'aes192-ctr', 'aes128-ctr'],
  macs: ['hmac-sha2-512-etm@openssh.com', 'hmac-sha2-256-etm@openssh.com', 'umac-128-etm@openssh.com', 'hmac-sha2-512', 'hmac-sha2-256'],
  kex: [
    'sntrup761x25519-sha512@openssh.com',
    'curve25519-sha256',
    'curve25519-sha256@libssh.org',
    'diffie-hellman-group16-sha512',
    'diffie-hellman-group18-sha512',
    'diffie-hellman-group-exchange-sha256',
    'ecdh-sha2-nistp521',
    'ecdh-sha2-nistp384',
    'ecdh-sha2-nistp256',
  ],
};
const WEAK = {
  ciphers: (a: string) => /-cbc$|^3des|^arcfour|^blowfish|^cast128|rijndael/.test(a),
  macs: (a: string) => /md5|sha1|ripemd|umac-64|-96/.test(a),
  kex: (a: string) => /group1-sha1|group14-sha1|group-exchange-sha1|^gss-/.test(a),
};

export const BANNER_TEXT = 'Authorized use only. Activity on this system is monitored and recorded; disconnect now if you are not authorized.\n';

const get = (s: HostState, k: string): string | undefined => s.sshd[k.toLowerCase()];

function needSshd(s: HostState): CheckResult | undefined {
  // a config sshd refuses is the operator's to mend: palisade changes nothing on top of it
  if (!s.sshdValid && s.sshdError !== 'no sshd')
    return { status: 'fail', manual: true, detail: `sshd -t fails, so sshd's settings cannot be read or changed safely: ${s.sshdError ?? ''}`.trim() };
  if (Object.keys(s.sshd).length === 0) return { status: 'na', detail: 'no OpenSSH server on this host' };
  return undefined;
}

/** a directive that must have one value (case-insensitive) */
function exact(id: string, title: string, cis: string, key: string, want: string, also: string[] = []): Rule {
  return {
    id,
    title,
    area: 'ssh',
    cis,
    check(s) {
      const na = needSshd(s);
      if (na) return na;
      const v = get(s, key) ?? '(unset)';
      if ([want, ...also].some((w) => w.toLowerCase() === v.toLowerCase())) return { status: 'pass', detail: `${key} ${v}` };
      return { status: 'fail', detail: `${key} is ${v}, wanted ${want}`, fixes: [{ kind: 'sshd', directives: { [key]: want } }] };
    },
  };
}

/** a number in [min, max]; the fix sets `set` */
function range(id: string, title: string, cis: string, key: string, min: number, max: number, set: number): Rule {
  return {
    id,
    title,
    area: 'ssh',
    cis,
    check(s) {
      const na = needSshd(s);
      if (na) return na;
      const raw = get(s, key) ?? '';
      const n = Number(raw);
      if (raw !== '' && Number.isFinite(n) && n >= min && n <= max) return { status: 'pass', detail: `${key} ${raw}` };
      return {
        status: 'fail',
        detail: `${key} is ${raw || '(unset)'}, wanted ${min === max ? min : `${min}..${max}`}`,
        fixes: [{ kind: 'sshd', directives: { [key]: String(set) } }],
      };
    },
  };
}

function algorithms(id: string, title: string, cis: string, key: string, kind: keyof typeof STRONG): Rule {
  return {
    id,
    title,
    area: 'ssh',
    cis,
    check(s) {
      const na = needSshd(s);
      if (na) return na;
      const now = (get(s, key) ?? '').split(',').filter(Boolean);
      const weak = now.filter(WEAK[kind]);
      if (now.length && weak.length === 0) return { status: 'pass', detail: `${key} ${now.join(',')}` };
      // only what this host's OpenSSH knows, in our order of preference
      const known = s.supported[kind];
      const want = STRONG[kind].filter((a) => known.length === 0 || known.includes(a));
      if (want.length === 0) return { status: 'na', detail: `this host's OpenSSH supports none of the current ${key}` };
      return {
        status: 'fail',
        detail: weak.length ? `${key} allows ${weak.join(', ')}` : `${key} is not set`,
        fixes: [{ kind: 'sshd', directives: { [key]: want.join(',') } }],
      };
    },
  };
}

const rootLogin: Rule = {
  id: 'ssh.root-login',
  title: 'root logs in over SSH only where palisade does, and then only with a key',
  area: 'ssh',
  cis: '5.1.20',
  check(s) {
    const na = needSshd(s);
    if (na) return na;
    const v = get(s, 'permitrootlogin') ?? 'yes';
    // sshd -T prints the old name of prohibit-password
    const keyOnly = v === 'without-password' || v === 'prohibit-password';
    if (s.loginUser === 'root') {
      if (keyOnly || v === 'forced-commands-only') return { status: 'pass', detail: `PermitRootLogin ${v} (palisade logs in as root, with its key)` };
      if (v === 'no')
        return {
          status: 'fail',
          detail: 'PermitRootLogin no, but palisade logs in as root: it would be locked out',
          fixes: [{ kind: 'sshd', directives: { PermitRootLogin: 'prohibit-password' } }],
        };
      return {
        status: 'fail',
        detail: `PermitRootLogin ${v}: root may log in with a password`,
        fixes: [{ kind: 'sshd', directives: { PermitRootLogin: 'prohibit-password' } }],
      };
    }
    if (v === 'no') return { status: 'pass', detail: `PermitRootLogin no (palisade logs in as ${s.loginUser})` };
    return {
      status: 'fail',
      detail: `PermitRootLogin ${v}; palisade logs in as ${s.loginUser}, so root needs no SSH login`,
      fixes: [{ kind: 'sshd', directives: { PermitRootLogin: 'no' } }],
    };
  },
};

const banner: Rule = {
  id: 'ssh.banner',
  title: 'sshd shows a warning banner before login',
  area: 'ssh',
  cis: '5.1.5',
  check(s) {
    const na = needSshd(s);
    if (na) return na;
    const v = get(s, 'banner') ?? 'none';
    if (v !== 'none' && v !== '') return { status: 'pass', detail: `Banner ${v}` };
    return {
      status: 'fail',
      detail: 'no Banner',
      fixes: [
        { kind: 'file', path: ISSUE_NET, content: BANNER_TEXT, mode: 0o644 },
        { kind: 'sshd', directives: { Banner: ISSUE_NET } },
      ],
    };
  },
};

const gget = (s: HostState, k: string): string | undefined => s.sshdGlobal[k.toLowerCase()];

/**
 * Forwarding off for every account; palisade's own user keeps local TCP
 * forwarding (it reaches hosts behind the jump host and their services
 * through direct-tcpip channels), so that one setting is a Match block.
 */
const forwarding: Rule = {
  id: 'ssh.forwarding',
  title: "SSH forwarding off; palisade's own user keeps local TCP forwarding (its tunnels and the jump host need it)",
  area: 'ssh',
  cis: '5.1.8',
  check(s) {
    const na = needSshd(s);
    if (na) return na;
    const off: Record<string, string> = {
      AllowAgentForwarding: 'no',
      AllowStreamLocalForwarding: 'no',
      PermitTunnel: 'no',
      GatewayPorts: 'no',
      AllowTcpForwarding: 'no',
    };
    const wrong = Object.entries(off).filter(([k, v]) => (gget(s, k) ?? '').toLowerCase() !== v);
    const mine = (get(s, 'AllowTcpForwarding') ?? '').toLowerCase();
    const userOk = mine === 'local' || mine === 'no';
    if (wrong.length === 0 && userOk)
      return {
        status: 'pass',
        detail: `${Object.keys(off)
          .map((k) => `${k} ${gget(s, k)}`)
          .join(', ')}; for ${s.loginUser}: AllowTcpForwarding ${mine}`,
      };
    return {
      status: 'fail',
      detail:
        [...wrong.map(([k]) => `${k} ${gget(s, k) ?? '(unset)'}`), ...(userOk ? [] : [`AllowTcpForwarding ${mine || '(unset)'} for ${s.loginUser}`])].join(
          ', ',
        ) + `; DisableForwarding stays off: palisade's tunnels and the jump host need local TCP forwarding for ${s.loginUser}`,
      fixes: [{ kind: 'sshd', directives: Object.fromEntries(wrong), forLoginUser: { AllowTcpForwarding: mine === 'no' ? 'no' : 'local' } }],
    };
  },
};

/** MaxSessions 2 for everyone; palisade's user runs up to 8 commands at once on one connection and keeps 10 (CIS allows 10). */
const maxSessions: Rule = {
  id: 'ssh.max-sessions',
  title: "MaxSessions 2 (palisade's own user 10: it runs up to 8 commands at once on one connection; CIS allows 10)",
  area: 'ssh',
  cis: '5.1.17',
  check(s) {
    const na = needSshd(s);
    if (na) return na;
    const all = Number(gget(s, 'maxsessions') ?? 10);
    const mine = Number(get(s, 'maxsessions') ?? 10);
    if (all <= 2 && mine >= 8 && mine <= 10) return { status: 'pass', detail: `MaxSessions ${all}; for ${s.loginUser}: ${mine}` };
    return {
      status: 'fail',
      detail: `MaxSessions ${all}; for ${s.loginUser}: ${mine}`,
      fixes: [{ kind: 'sshd', directives: { MaxSessions: '2' }, forLoginUser: { MaxSessions: '10' } }],
    };
  },
};

/**
 * Who may log in at all (AllowUsers). With passwords and keyboard-interactive
 * off (the rules above), the accounts that can log in are the ones with an authorized key:
 * the fix names exactly those (and palisade's user), so nobody who logs in
 * now is locked out, and an account added later needs adding here too.
 */
const allowUsers: Rule = {
  id: 'ssh.allow-users',
  title: "SSH logins limited to named accounts (AllowUsers: palisade's user and the accounts with an authorized key)",
  area: 'ssh',
  cis: '5.1.4',
  check(s) {
    const na = needSshd(s);
    if (na) return na;
    const set = ['allowusers', 'allowgroups']
      .filter((k) => (get(s, k) ?? '') !== '')
      .map((k) => `${k === 'allowusers' ? 'AllowUsers' : 'AllowGroups'} ${get(s, k)}`);
    if (set.length) return { status: 'pass', detail: set.join(', ') };
    const other = ['trustedusercakeys', 'authorizedkeyscommand', 'authorizedprincipalscommand'].filter(
      (k) => !['', 'none'].includes((get(s, k) ?? 'none').toLowerCase()),
    );
    if (other.length)
      return {
        status: 'fail',
        manual: true,
        detail: `no AllowUsers or AllowGroups, and ${other.join(', ')} decide(s) who logs in: name the accounts or groups by hand`,
      };
    const users = [...new Set([s.loginUser, ...s.keyUsers])].sort();
    return {
      status: 'fail',
      detail: `no AllowUsers or AllowGroups: every account with a key may log in (today: ${users.join(', ')})`,
      fixes: [{ kind: 'sshd', directives: { AllowUsers: users.join(' ') } }],
    };
  },
};

export const sshRules: Rule[] = [
  modeRule({ path: SSHD_CONFIG, maxMode: 0o600, owner: 'root', groups: ['root'], cis: '5.1.1' }, 'ssh.config-mode', 'sshd_config is 0600 root:root', 'ssh'),
  {
    id: 'ssh.dropin-mode',
    title: `files in ${SSHD_CONFIG_DIR} are 0600 root:root`,
    area: 'ssh',
    cis: '5.1.1',
    check(s) {
      const confs = Object.entries(s.files).filter(([p]) => p.startsWith(`${SSHD_CONFIG_DIR}/`) && p.endsWith('.conf'));
      if (confs.length === 0) return { status: 'pass', detail: `no drop-ins in ${SSHD_CONFIG_DIR}` };
      const bad = confs.filter(([, f]) => (f.mode & ~0o600) !== 0 || f.owner !== 'root' || f.group !== 'root');
      if (bad.length === 0) return { status: 'pass', detail: `${confs.length} drop-in(s), all 0600 root:root or stricter` };
      return {
        status: 'fail',
        detail: bad.map(([p, f]) => `${p} ${f.mode.toString(8)} ${f.owner}:${f.group}`).join(', '),
        fixes: bad.map(([p, f]) => ({ kind: 'mode', path: p, mode: f.mode & 0o600, owner: 'root', group: 'root' })),
      };
    },
  },
  {
    id: 'ssh.host-key-modes',
    title: 'SSH host private keys 0600 root:root, public keys 0644 root:root or stricter',
    area: 'ssh',
    cis: '5.1.2, 5.1.3',
    check(s) {
      const keys = Object.entries(s.files).filter(([p]) => /^\/etc\/ssh\/ssh_host_.*_key(\.pub)?$/.test(p));
      if (keys.length === 0) return { status: 'na', detail: 'no host keys in /etc/ssh' };
      const bad = keys.filter(([p, f]) => {
        if (f.owner !== 'root') return true;
        if (p.endsWith('.pub')) return f.group !== 'root' || (f.mode & ~0o644) !== 0;
        // Debian's ssh_keys group may read private keys (0640), for ssh-keysign
        return f.group === 'ssh_keys' ? (f.mode & ~0o640) !== 0 : f.group !== 'root' || (f.mode & ~0o600) !== 0;
      });
      if (bad.length === 0) return { status: 'pass', detail: `${keys.length} key file(s) in order` };
      return {
        status: 'fail',
        detail: bad.map(([p, f]) => `${p} ${f.mode.toString(8)} ${f.owner}:${f.group}`).join(', '),
        fixes: bad.map(([p, f]) => ({ kind: 'mode', path: p, mode: f.mode & (p.endsWith('.pub') ? 0o644 : 0o600), owner: 'root', group: 'root' })),
      };
    },
  },
  banner,
  algorithms('ssh.ciphers', 'SSH ciphers: current ones only (no CBC)', '5.1.6', 'Ciphers', 'ciphers'),
  {
    ...range(
      'ssh.client-alive',
      'idle SSH sessions are closed (ClientAliveInterval 1..900 s with ClientAliveCountMax 1..3)',
      '5.1.7',
      'ClientAliveInterval',
      1,
      900,
      300,
    ),
    check(s) {
      const na = needSshd(s);
      if (na) return na;
      const i = Number(get(s, 'clientaliveinterval') ?? 0);
      const c = Number(get(s, 'clientalivecountmax') ?? 3);
      if (i >= 1 && i <= 900 && c >= 1 && c <= 3) return { status: 'pass', detail: `ClientAliveInterval ${i}, ClientAliveCountMax ${c}` };
      return {
        status: 'fail',
        detail: `ClientAliveInterval ${i}, ClientAliveCountMax ${c}`,
        fixes: [{ kind: 'sshd', directives: { ClientAliveInterval: '300', ClientAliveCountMax: '2' } }],
      };
    },
  },
  forwarding,
  exact('ssh.gssapi', 'GSSAPI authentication off', '5.1.9', 'GSSAPIAuthentication', 'no'),
  exact('ssh.hostbased', 'host-based authentication off', '5.1.10', 'HostbasedAuthentication', 'no'),
  exact('ssh.ignore-rhosts', '.rhosts and .shosts ignored', '5.1.11', 'IgnoreRhosts', 'yes'),
  algorithms('ssh.kex', 'SSH key exchange: current ones only (no group1, no group14-sha1)', '5.1.12', 'KexAlgorithms', 'kex'),
  range('ssh.login-grace', 'LoginGraceTime 1..60 s', '5.1.13', 'LoginGraceTime', 1, 60, 60),
  exact('ssh.log-level', 'sshd logs at VERBOSE: the key fingerprint of every login (CIS allows INFO; VERBOSE says which key)', '5.1.14', 'LogLevel', 'VERBOSE'),
  algorithms('ssh.macs', 'SSH MACs: current ones only (no SHA-1, no MD5)', '5.1.15', 'MACs', 'macs'),
  range('ssh.max-auth-tries', 'MaxAuthTries 4 or fewer (palisade sets 3: it offers one key)', '5.1.16', 'MaxAuthTries', 1, 4, 3),
  maxSessions,
  {
    id: 'ssh.max-startups',
    title: 'MaxStartups 10:30:60 or stricter',
    area: 'ssh',
    cis: '5.1.18',
    check(s) {
      const na = needSshd(s);
      if (na) return na;
      const v = get(s, 'maxstartups') ?? '10:30:100';
      const [a, b, c] = v.split(':').map(Number);
      if ((a ?? 99) <= 10 && (b ?? 99) <= 30 && (c ?? a ?? 99) <= 60) return { status: 'pass', detail: `MaxStartups ${v}` };
      return { status: 'fail', detail: `MaxStartups ${v}`, fixes: [{ kind: 'sshd', directives: { MaxStartups: '10:30:60' } }] };
    },
  },
  exact('ssh.empty-passwords', 'empty passwords refused', '5.1.19', 'PermitEmptyPasswords', 'no'),
  rootLogin,
  exact('ssh.user-environment', 'users cannot set environment options', '5.1.21', 'PermitUserEnvironment', 'no'),
  exact('ssh.use-pam', 'sshd uses PAM (account and session checks)', '5.1.22', 'UsePAM', 'yes'),
  exact('ssh.password-auth', 'password authentication off (keys only)', '', 'PasswordAuthentication', 'no'),
  exact('ssh.kbd-interactive', 'keyboard-interactive authentication off (no password prompt through PAM)', '', 'KbdInteractiveAuthentication', 'no'),
  allowUsers,
  exact('ssh.x11', 'X11 forwarding off', '5.1.8', 'X11Forwarding', 'no'),
  exact('ssh.compression', 'no compression before authentication is done (Compression no)', '', 'Compression', 'no'),
  // ClientAlive probes run inside the encrypted channel; TCP keepalives can be spoofed
  exact('ssh.tcp-keepalive', 'TCPKeepAlive off (ClientAlive checks the session instead, inside the encrypted channel)', '', 'TCPKeepAlive', 'no'),
];
