import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { outcomesBefore, planHost } from '../../installer/hardening/evaluate.ts';
import { modprobeFileContent, mountScript, purgeScript, sshdDropinContent, sysctlFileContent } from '../../installer/hardening/fixes.ts';
import { parseHardeningProbe } from '../../installer/hardening/parse.ts';
import { BASELINE_RULES, ruleById } from '../../installer/hardening/rules/index.ts';
import type { CheckResult, HostState } from '../../installer/hardening/types.ts';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, '../fixtures/hardening', `${name}.txt`), 'utf8');
/** a recorded lab host (a fresh one, or one `palisade harden` went over), changed by `patch` */
function state(name: 'lab-fresh' | 'lab-hardened', patch: (s: HostState) => void = () => {}, loginUser = 'root'): HostState {
  const s = parseHardeningProbe(fixture(name), { host: 'host1', loginUser });
  patch(s);
  return s;
}
const check = (id: string, s: HostState): CheckResult => ruleById(id)!.check(s);
const statuses = (s: HostState) => Object.fromEntries(BASELINE_RULES.map((r) => [r.id, r.check(s).status]));

describe('the hardening probe output', () => {
  it('is read into sshd settings, file modes, kernel parameters and packages', () => {
    const s = state('lab-fresh');
    expect(s.container).toBe('systemd-nspawn');
    expect(s.sshd.maxauthtries).toBe('6');
    expect(s.sshdValid).toBe(true);
    expect(s.supported.ciphers).toContain('aes128-cbc');
    expect(s.files['/etc/shadow']).toEqual({ mode: 0o640, owner: 'root', group: 'shadow' });
    expect(s.sysctl['net.ipv4.tcp_syncookies']).toEqual({ value: '1', writable: false });
    expect(s.packages['openssh-server']?.status).toBe('ii');
    expect(s.suid).toContain('/usr/bin/sudo');
    expect(s.text['/etc/issue']).toMatch(/Debian/);
    expect(s.problems).toEqual([]);
  });
  it('says when the probe did not finish', () => {
    const s = parseHardeningProbe(fixture('lab-fresh').split('@@@@ end @@@@')[0]!, { host: 'h', loginUser: 'root' });
    expect(s.problems).toContain('the probe did not finish');
  });
});

describe('rules on recorded hosts', () => {
  it('a fresh lab host fails the SSH, cron and banner rules palisade fixes, and nothing else', () => {
    const failing = Object.entries(statuses(state('lab-fresh')))
      .filter(([, v]) => v === 'fail')
      .map(([k]) => k)
      .sort();
    expect(failing).toEqual([
      'accounts.core-dumps',
      'accounts.coredump-storage',
      'accounts.login-shell',
      'accounts.pass-max-days',
      'accounts.pass-min-days',
      'accounts.sha-crypt-max-rounds',
      'accounts.sha-crypt-min-rounds',
      'accounts.umask',
      'banner.issue',
      'banner.issue-net',
      'files.cron-d',
      'files.cron-daily',
      'files.dev-shm-mount',
      'files.tmp-mount',
      'kernel.module-cramfs',
      'kernel.module-dccp',
      'kernel.module-firewire',
      'kernel.module-freevxfs',
      'kernel.module-hfs',
      'kernel.module-jffs2',
      'kernel.module-rds',
      'kernel.module-sctp',
      'kernel.module-tipc',
      'kernel.module-udf',
      'kernel.module-usb-storage',
      'ssh.allow-users',
      'ssh.banner',
      'ssh.client-alive',
      'ssh.compression',
      'ssh.config-mode',
      'ssh.dropin-mode',
      'ssh.forwarding',
      'ssh.log-level',
      'ssh.login-grace',
      'ssh.macs',
      'ssh.max-auth-tries',
      'ssh.max-sessions',
      'ssh.max-startups',
      'ssh.tcp-keepalive',
      'ssh.x11',
    ]);
  });
  it('the same host after palisade harden passes every rule that can apply', () => {
    expect(Object.entries(statuses(state('lab-hardened'))).filter(([, v]) => v === 'fail')).toEqual([]);
  });
  it('every rule has an id, a title, and a CIS item or says it has none', () => {
    const ids = BASELINE_RULES.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const r of BASELINE_RULES) expect(r.title.length).toBeGreaterThan(5);
    expect(BASELINE_RULES.filter((r) => !r.cis).map((r) => r.id)).toEqual([
      'ssh.password-auth',
      'ssh.kbd-interactive',
      'ssh.compression',
      'ssh.tcp-keepalive',
      'sysctl.kptr-restrict',
      'sysctl.dmesg-restrict',
      'sysctl.unprivileged-bpf',
      'sysctl.perf-event',
      'sysctl.core-pid',
      'sysctl.sysrq',
      'sysctl.ldisc-autoload',
      'sysctl.protected-links',
      'sysctl.protected-files',
      'kernel.module-firewire',
      'accounts.sha-crypt-min-rounds',
      'accounts.sha-crypt-max-rounds',
    ]);
  });
});

describe('SSH server rules', () => {
  it('root keeps a key-only login where palisade logs in as root, and loses it where palisade does not', () => {
    expect(check('ssh.root-login', state('lab-fresh')).status).toBe('pass');
    const yes = check(
      'ssh.root-login',
      state('lab-fresh', (s) => (s.sshd.permitrootlogin = 'yes')),
    );
    expect(yes.fixes).toEqual([{ kind: 'sshd', directives: { PermitRootLogin: 'prohibit-password' } }]);
    // "no" would lock palisade itself out
    expect(
      check(
        'ssh.root-login',
        state('lab-fresh', (s) => (s.sshd.permitrootlogin = 'no')),
      ).status,
    ).toBe('fail');
    const ops = check(
      'ssh.root-login',
      state('lab-fresh', () => {}, 'ops'),
    );
    expect(ops.status).toBe('fail');
    expect(ops.fixes).toEqual([{ kind: 'sshd', directives: { PermitRootLogin: 'no' } }]);
    expect(
      check(
        'ssh.root-login',
        state('lab-fresh', (s) => (s.sshd.permitrootlogin = 'no'), 'ops'),
      ).status,
    ).toBe('pass');
  });
  it('CBC ciphers, SHA-1 MACs and SHA-1 key exchange fail; the fix lists only what the host supports', () => {
    const cbc = check(
      'ssh.ciphers',
      state('lab-fresh', (s) => (s.sshd.ciphers = 'aes128-ctr,aes256-cbc')),
    );
    expect(cbc.detail).toMatch(/aes256-cbc/);
    const d = (cbc.fixes![0] as { directives: Record<string, string> }).directives;
    expect(d.Ciphers!.split(',')).toContain('chacha20-poly1305@openssh.com');
    expect(d.Ciphers).not.toMatch(/cbc/);
    const old = check(
      'ssh.ciphers',
      state('lab-fresh', (s) => {
        s.sshd.ciphers = '3des-cbc';
        s.supported.ciphers = ['3des-cbc', 'aes128-ctr'];
      }),
    );
    expect((old.fixes![0] as { directives: Record<string, string> }).directives.Ciphers).toBe('aes128-ctr');
    expect(
      check(
        'ssh.kex',
        state('lab-fresh', (s) => (s.sshd.kexalgorithms = 'curve25519-sha256,diffie-hellman-group14-sha1')),
      ).status,
    ).toBe('fail');
    expect(
      check(
        'ssh.kex',
        state('lab-fresh', (s) => (s.sshd.kexalgorithms = 'diffie-hellman-group1-sha1')),
      ).status,
    ).toBe('fail');
    expect(check('ssh.macs', state('lab-hardened')).status).toBe('pass');
    expect(
      check(
        'ssh.macs',
        state('lab-hardened', (s) => (s.sshd.macs += ',hmac-sha1')),
      ).status,
    ).toBe('fail');
  });
  it('numeric limits: MaxAuthTries above 4 fails, a stricter value passes untouched', () => {
    expect(
      check(
        'ssh.max-auth-tries',
        state('lab-fresh', (s) => (s.sshd.maxauthtries = '3')),
      ).status,
    ).toBe('pass');
    expect(
      check(
        'ssh.max-auth-tries',
        state('lab-fresh', (s) => (s.sshd.maxauthtries = '5')),
      ).fixes,
    ).toEqual([{ kind: 'sshd', directives: { MaxAuthTries: '3' } }]);
    expect(
      check(
        'ssh.login-grace',
        state('lab-fresh', (s) => (s.sshd.logingracetime = '0')),
      ).status,
    ).toBe('fail');
  });
  it("sessions: 2 for every account, 10 for palisade's user (fewer than it opens on one connection would starve it)", () => {
    const fix = [{ kind: 'sshd', directives: { MaxSessions: '2' }, forLoginUser: { MaxSessions: '10' } }];
    expect(check('ssh.max-sessions', state('lab-fresh')).fixes).toEqual(fix);
    // 2 for everyone, palisade's user included, starves palisade
    expect(
      check(
        'ssh.max-sessions',
        state('lab-fresh', (s) => (s.sshd.maxsessions = s.sshdGlobal.maxsessions = '2')),
      ).fixes,
    ).toEqual(fix);
    expect(
      check(
        'ssh.max-sessions',
        state('lab-fresh', (s) => (s.sshdGlobal.maxsessions = '2')),
      ).status,
    ).toBe('pass');
    expect(check('ssh.max-sessions', state('lab-hardened')).detail).toBe('MaxSessions 2; for root: 10');
  });
  it("forwarding: off for every account; palisade's user keeps local TCP forwarding for the jump host and tunnels", () => {
    const r = check('ssh.forwarding', state('lab-fresh'));
    expect(r.fixes).toEqual([
      {
        kind: 'sshd',
        directives: { AllowAgentForwarding: 'no', AllowStreamLocalForwarding: 'no', AllowTcpForwarding: 'no' },
        forLoginUser: { AllowTcpForwarding: 'local' },
      },
    ]);
    const off = { allowagentforwarding: 'no', allowstreamlocalforwarding: 'no', allowtcpforwarding: 'no' };
    expect(
      check(
        'ssh.forwarding',
        state('lab-fresh', (s) => Object.assign(s.sshdGlobal, off)),
      ).status,
    ).toBe('fail');
    expect(
      check(
        'ssh.forwarding',
        state('lab-fresh', (s) => (Object.assign(s.sshdGlobal, off), Object.assign(s.sshd, { allowtcpforwarding: 'local' }))),
      ).status,
    ).toBe('pass');
    expect(check('ssh.forwarding', state('lab-hardened')).status).toBe('pass');
  });
  it("logins limited to the accounts that have a key today and palisade's user; certificates leave it to the operator", () => {
    expect(check('ssh.allow-users', state('lab-fresh')).fixes).toEqual([{ kind: 'sshd', directives: { AllowUsers: 'ops root' } }]);
    expect(
      check(
        'ssh.allow-users',
        state('lab-fresh', (s) => (s.keyUsers = []), 'deploy'),
      ).fixes,
    ).toEqual([{ kind: 'sshd', directives: { AllowUsers: 'deploy' } }]);
    const ca = check(
      'ssh.allow-users',
      state('lab-fresh', (s) => (s.sshd.trustedusercakeys = '/etc/ssh/user-ca.pub')),
    );
    expect(ca).toMatchObject({ status: 'fail', manual: true });
    expect(
      check(
        'ssh.allow-users',
        state('lab-fresh', (s) => (s.sshd.allowgroups = 'admins')),
      ).status,
    ).toBe('pass');
  });
  it('host key and config modes: too open fails, stricter passes, ssh_keys 0640 passes', () => {
    expect(
      check(
        'ssh.host-key-modes',
        state('lab-fresh', (s) => (s.files['/etc/ssh/ssh_host_ed25519_key']!.mode = 0o644)),
      ).fixes,
    ).toEqual([{ kind: 'mode', path: '/etc/ssh/ssh_host_ed25519_key', mode: 0o600, owner: 'root', group: 'root' }]);
    expect(
      check(
        'ssh.host-key-modes',
        state('lab-fresh', (s) => (s.files['/etc/ssh/ssh_host_ed25519_key'] = { mode: 0o640, owner: 'root', group: 'ssh_keys' })),
      ).status,
    ).toBe('pass');
    expect(
      check(
        'ssh.host-key-modes',
        state('lab-fresh', (s) => (s.files['/etc/ssh/ssh_host_ed25519_key.pub']!.owner = 'ops')),
      ).status,
    ).toBe('fail');
    expect(
      check(
        'ssh.config-mode',
        state('lab-fresh', (s) => (s.files['/etc/ssh/sshd_config']!.mode = 0o400)),
      ).status,
    ).toBe('pass');
  });
  it('a host without an OpenSSH server: the SSH rules do not apply', () => {
    const s = state('lab-fresh', (x) => {
      x.sshd = {};
      x.sshdValid = false;
      x.sshdError = 'no sshd';
    });
    expect(check('ssh.max-auth-tries', s)).toMatchObject({ status: 'na', detail: 'no OpenSSH server on this host' });
  });
  it("a config sshd -t refuses fails every SSH rule for the operator to mend, with sshd's words", () => {
    const s = state('lab-fresh', (x) => {
      x.sshd = {};
      x.sshdValid = false;
      x.sshdError = '/etc/ssh/sshd_config.d/50-x.conf line 1: Bad number.';
    });
    expect(check('ssh.x11', s)).toMatchObject({ status: 'fail', manual: true, detail: expect.stringMatching(/sshd -t fails.*50-x\.conf line 1/) });
  });
});

describe('kernel parameter rules', () => {
  const writable = (s: HostState) => {
    for (const v of Object.values(s.sysctl)) v.writable = true;
  };
  it('read-only /proc/sys (a container) is not applicable with the reason, right value or not', () => {
    const r = check('sysctl.syncookies', state('lab-fresh'));
    expect(r).toMatchObject({ status: 'na', detail: expect.stringMatching(/read-only in a systemd-nspawn container \(now 1, as wanted\)/) });
    expect(check('sysctl.log-martians', state('lab-fresh')).detail).toMatch(/wanted 1/);
  });
  it('on a machine: a wrong value fails and the fix sets every key of the rule', () => {
    const r = check('sysctl.accept-redirects', state('lab-fresh', writable));
    expect(r.status).toBe('fail');
    expect(r.fixes).toHaveLength(4);
    expect(check('sysctl.syncookies', state('lab-fresh', writable)).status).toBe('pass');
  });
  it('a parameter the kernel does not have is not applicable', () => {
    expect(check('sysctl.ptrace', state('lab-fresh', writable))).toMatchObject({ status: 'na', detail: 'the kernel has no kernel.yama.ptrace_scope' });
  });
  it('IP forwarding is never turned off: the report says the pod network needs it', () => {
    const r = check(
      'sysctl.ip-forward',
      state('lab-fresh', (s) => {
        writable(s);
        s.sysctl['net.ipv4.ip_forward']!.value = '1';
      }),
    );
    expect(r.status).toBe('na');
    expect(ruleById('sysctl.ip-forward')!.title).toMatch(/route pod traffic/);
    expect(r.fixes).toBeUndefined();
  });
});

describe('file permission rules', () => {
  it('too open fails; the fix only takes bits away and keeps an allowed group', () => {
    const r = check(
      'files.shadow',
      state('lab-fresh', (s) => (s.files['/etc/shadow'] = { mode: 0o664, owner: 'root', group: 'shadow' })),
    );
    expect(r.fixes).toEqual([{ kind: 'mode', path: '/etc/shadow', mode: 0o640, owner: 'root', group: 'shadow' }]);
    expect(
      check(
        'files.shadow',
        state('lab-fresh', (s) => (s.files['/etc/shadow']!.mode = 0o600)),
      ).status,
    ).toBe('pass');
    expect(
      check(
        'files.passwd',
        state('lab-fresh', (s) => (s.files['/etc/passwd']!.group = 'ops')),
      ).fixes,
    ).toEqual([{ kind: 'mode', path: '/etc/passwd', mode: 0o644, owner: 'root', group: 'root' }]);
  });
  it('a missing backup or cron file is not applicable; a missing /etc/passwd is for the operator', () => {
    expect(check('files.crontab', state('lab-fresh')).status).toBe('na');
    const r = check(
      'files.passwd',
      state('lab-fresh', (s) => delete s.files['/etc/passwd']),
    );
    expect(r).toMatchObject({ status: 'fail', manual: true });
  });
  it('world-writable and unowned files are reported, not changed', () => {
    const r = check(
      'files.world-writable',
      state('lab-fresh', (s) => {
        s.worldWritable = ['/opt/x'];
        s.worldWritableDirs = ['/srv/drop'];
      }),
    );
    expect(r).toMatchObject({ status: 'fail', manual: true, detail: '2 found: /opt/x, /srv/drop/ (no sticky bit)' });
    expect(r.fixes).toBeUndefined();
    expect(
      check(
        'files.unowned',
        state('lab-fresh', (s) => (s.unowned = ['/var/lib/old'])),
      ),
    ).toMatchObject({ status: 'fail', manual: true });
  });
});

describe('legacy software and banners', () => {
  it('an installed telnet client fails and is purged; removed-with-config is not installed', () => {
    const r = check(
      'software.telnet',
      state('lab-fresh', (s) => (s.packages['inetutils-telnet'] = { name: 'inetutils-telnet', version: '2:2.4-2', status: 'ii' })),
    );
    expect(r.fixes).toEqual([{ kind: 'purge', packages: ['inetutils-telnet'] }]);
    expect(
      check(
        'software.telnet',
        state('lab-fresh', (s) => (s.packages.telnet = { name: 'telnet', version: '0.17', status: 'rc' })),
      ).status,
    ).toBe('pass');
  });
  it('an enabled avahi is disabled first, then purged', () => {
    const r = check(
      'software.avahi',
      state('lab-fresh', (s) => {
        s.packages['avahi-daemon'] = { name: 'avahi-daemon', version: '0.8-10', status: 'ii' };
        s.units['avahi-daemon.service'] = { enabled: 'enabled', active: 'active' };
      }),
    );
    expect(r.fixes).toEqual([
      { kind: 'disable', units: ['avahi-daemon.service'] },
      { kind: 'purge', packages: ['avahi-daemon'] },
    ]);
  });
  it('a banner that names the OS fails; the getty escapes count as naming it', () => {
    expect(check('banner.issue', state('lab-hardened')).status).toBe('pass');
    expect(
      check(
        'banner.issue',
        state('lab-hardened', (s) => (s.text['/etc/issue'] = 'Welcome to \\s \\r\n')),
      ).status,
    ).toBe('fail');
    expect(
      check(
        'banner.issue-net',
        state('lab-hardened', (s) => delete s.text['/etc/issue.net']),
      ).detail,
    ).toMatch(/empty or missing/);
  });
});

describe('account defaults', () => {
  it("login.defs: Debian's 99999-day passwords and umask 022 fail; the fix sets the CIS values", () => {
    const s = state('lab-fresh');
    expect(s.loginDefs).toMatchObject({ PASS_MAX_DAYS: '99999', UMASK: '022', ENCRYPT_METHOD: 'SHA512' });
    expect(check('accounts.pass-max-days', s).fixes).toEqual([{ kind: 'logindefs', key: 'PASS_MAX_DAYS', value: '365' }]);
    expect(check('accounts.umask', s).status).toBe('fail');
    expect(
      check(
        'accounts.umask',
        state('lab-fresh', (x) => (x.loginDefs.UMASK = '077')),
      ).status,
    ).toBe('pass');
    expect(check('accounts.password-hash', s).status).toBe('pass');
    expect(
      check(
        'accounts.password-hash',
        state('lab-fresh', (x) => (x.loginDefs.ENCRYPT_METHOD = 'MD5')),
      ).status,
    ).toBe('fail');
  });
  it('core dumps: a hard limit of 0 passes, none fails', () => {
    expect(check('accounts.core-dumps', state('lab-fresh')).status).toBe('fail');
    expect(check('accounts.core-dumps', state('lab-hardened')).status).toBe('pass');
  });
});

describe('kernel modules, mounts, shells and core dumps', () => {
  it('a module is right only when modprobe refuses it (- and _ alike); overlay is never refused: containerd needs it', () => {
    expect(check('kernel.module-usb-storage', state('lab-fresh')).fixes).toEqual([{ kind: 'modprobe', module: 'usb-storage' }]);
    expect(
      check(
        'kernel.module-usb-storage',
        state('lab-fresh', (s) => (s.modprobe = ['install usb_storage /bin/true'])),
      ).status,
    ).toBe('pass');
    // blacklisting alone still lets `modprobe usb-storage` load it
    expect(
      check(
        'kernel.module-usb-storage',
        state('lab-fresh', (s) => (s.modprobe = ['blacklist usb-storage'])),
      ).status,
    ).toBe('fail');
    expect(
      check(
        'kernel.module-hfs',
        state('lab-fresh', (s) => (s.modprobe = ['install hfs /bin/false'])),
      ).fixes,
    ).toEqual([{ kind: 'modprobe', module: 'hfsplus' }]);
    expect(check('kernel.module-overlay', state('lab-fresh'))).toMatchObject({ status: 'na', detail: expect.stringMatching(/containerd/) });
    expect(
      check(
        'kernel.module-overlay',
        state('lab-fresh', (s) => (s.modprobe = ['install overlay /bin/false'])),
      ).detail,
    ).toMatch(/cannot start containers/);
    expect(check('kernel.module-sctp', state('lab-hardened')).detail).toMatch(/systemd-nspawn container: the machine's kernel decides/);
  });
  it('/tmp and /dev/shm: a tmpfs without noexec fails and the fix asks for all three options; no mount of its own is not applicable', () => {
    expect(check('files.dev-shm-mount', state('lab-fresh'))).toMatchObject({
      status: 'fail',
      fixes: [{ kind: 'mount', target: '/dev/shm', fstype: 'tmpfs', options: ['nodev', 'nosuid', 'noexec'] }],
    });
    expect(
      check(
        'files.tmp-mount',
        state('lab-fresh', (s) => delete s.mounts['/tmp']),
      ),
    ).toMatchObject({ status: 'na', detail: expect.stringMatching(/not a file system of its own/) });
    expect(check('files.tmp-mount', state('lab-hardened')).status).toBe('pass');
  });
  it('systemd-coredump: the value systemd reads last decides', () => {
    expect(
      check(
        'accounts.coredump-storage',
        state('lab-fresh', (s) => (s.coredump = ['Storage=none', 'ProcessSizeMax=0'])),
      ).status,
    ).toBe('pass');
    // a later drop-in turning storage back on wins
    expect(
      check(
        'accounts.coredump-storage',
        state('lab-fresh', (s) => (s.coredump = ['Storage=none', 'ProcessSizeMax=0', 'Storage=external'])),
      ).status,
    ).toBe('fail');
    expect(check('accounts.coredump-storage', state('lab-hardened')).status).toBe('pass');
  });
  it('login shells: TMOUT must be read-only and at most 900 s, and core dumps off', () => {
    const ok = ['TMOUT=900', 'readonly TMOUT', 'export TMOUT', 'ulimit -c 0 2>/dev/null || true'];
    expect(
      check(
        'accounts.login-shell',
        state('lab-fresh', (s) => (s.profile = ok)),
      ).status,
    ).toBe('pass');
    expect(
      check(
        'accounts.login-shell',
        state('lab-fresh', (s) => (s.profile = ok.filter((l) => !l.startsWith('readonly')))),
      ).detail,
    ).toMatch(/read-only TMOUT/);
    expect(
      check(
        'accounts.login-shell',
        state('lab-fresh', (s) => (s.profile = ['TMOUT=3600', 'readonly TMOUT', 'ulimit -c 0'])),
      ).status,
    ).toBe('fail');
    expect(
      check(
        'accounts.login-shell',
        state('lab-fresh', (s) => (s.profile = ok.slice(0, 3))),
      ).detail,
    ).toMatch(/lacks ulimit -c 0$/);
  });
  it("SHA-512 rounds: unset or Debian's 5000 fails; the fix pins 65536", () => {
    expect(check('accounts.sha-crypt-min-rounds', state('lab-fresh')).fixes).toEqual([{ kind: 'logindefs', key: 'SHA_CRYPT_MIN_ROUNDS', value: '65536' }]);
    expect(
      check(
        'accounts.sha-crypt-max-rounds',
        state('lab-fresh', (s) => (s.loginDefs.SHA_CRYPT_MAX_ROUNDS = '5000')),
      ).status,
    ).toBe('fail');
    expect(check('accounts.sha-crypt-max-rounds', state('lab-hardened')).status).toBe('pass');
  });
});

describe('a plan for one host', () => {
  it('exceptions are honoured with their reason, per host when they name hosts', () => {
    const s = state('lab-fresh');
    const plan = planHost(s, BASELINE_RULES, [
      { rule: 'ssh.x11', reason: 'the lab runs X clients over SSH' },
      { rule: 'ssh.macs', reason: 'x', hosts: ['host9'] },
    ]);
    const out = outcomesBefore(plan, { dryRun: true });
    expect(out.find((o) => o.rule === 'ssh.x11')).toMatchObject({ status: 'excepted', reason: 'the lab runs X clients over SSH' });
    expect(out.find((o) => o.rule === 'ssh.macs')?.status).toBe('would-fix');
    expect(plan.fixes.some((f) => f.rule === 'ssh.x11')).toBe(false);
  });
  it('a dry run says what each fix would do; a hardened host has nothing to fix', () => {
    const out = outcomesBefore(planHost(state('lab-fresh'), BASELINE_RULES, []), { dryRun: true });
    expect(out.find((o) => o.rule === 'ssh.max-auth-tries')?.detail).toMatch(/-> sshd: MaxAuthTries 3$/);
    expect(planHost(state('lab-hardened'), BASELINE_RULES, []).fixes).toEqual([]);
  });
});

describe('fix builders', () => {
  it('the sshd drop-in keeps what palisade wrote before and puts new values over it', () => {
    const first = sshdDropinContent(undefined, { MaxAuthTries: '4', X11Forwarding: 'no' });
    const second = sshdDropinContent(first, { maxauthtries: '3', Banner: '/etc/issue.net' });
    expect(second.split('\n').filter((l) => l && !l.startsWith('#'))).toEqual(['Banner /etc/issue.net', 'maxauthtries 3', 'X11Forwarding no']);
  });
  it("palisade's own user gets a Match block at the end of the drop-in, kept on the next write", () => {
    const first = sshdDropinContent(undefined, { MaxSessions: '2' }, { user: 'root', directives: { MaxSessions: '10' } });
    expect(first.split('\n').filter((l) => l && !l.startsWith('#'))).toEqual(['MaxSessions 2', 'Match User root', '    MaxSessions 10']);
    const second = sshdDropinContent(first, { X11Forwarding: 'no' }, { user: 'root', directives: { AllowTcpForwarding: 'local' } });
    expect(second.split('\n').filter((l) => l && !l.startsWith('#'))).toEqual([
      'MaxSessions 2',
      'X11Forwarding no',
      'Match User root',
      '    AllowTcpForwarding local',
      '    MaxSessions 10',
    ]);
    // nothing for the user alone: no Match block
    expect(sshdDropinContent(undefined, { X11Forwarding: 'no' })).not.toMatch(/Match/);
  });
  it('the modprobe file keeps the modules refused before; a mount fix remounts with every option (fstab\'s "defaults" would undo nosuid)', () => {
    const c = modprobeFileContent('# x\ninstall cramfs /bin/false\nblacklist cramfs\n', [{ kind: 'modprobe', module: 'usb-storage' }]);
    expect(c.split('\n').filter((l) => l && !l.startsWith('#'))).toEqual([
      'install cramfs /bin/false',
      'blacklist cramfs',
      'install usb-storage /bin/false',
      'blacklist usb-storage',
    ]);
    const m = mountScript({ kind: 'mount', target: '/dev/shm', fstype: 'tmpfs', options: ['nodev', 'nosuid', 'noexec'] });
    expect(m).toMatch(/mount -o remount,nodev,nosuid,noexec \/dev\/shm$/);
    expect(m).toMatch(/awk -v t=\/dev\/shm -v fs=tmpfs -v add=nodev,nosuid,noexec /);
  });
  it('the sysctl file keeps earlier keys', () => {
    const c = sysctlFileContent('# x\nnet.ipv4.tcp_syncookies = 1\n', [{ kind: 'sysctl', key: 'net.ipv4.conf.all.log_martians', value: '1' }]);
    expect(c).toMatch(/^net\.ipv4\.tcp_syncookies = 1$/m);
    expect(c).toMatch(/^net\.ipv4\.conf\.all\.log_martians = 1$/m);
  });
  it('purging simulates first and refuses to take other packages with it', () => {
    const s = purgeScript(['inetutils-telnet']);
    expect(s).toMatch(/apt-get -s -q purge inetutils-telnet/);
    expect(s.indexOf('apt-get -s')).toBeLessThan(s.indexOf('apt-get -y'));
    expect(s).toMatch(/exit 3/);
  });
});
