import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { planHost } from '../../installer/hardening/evaluate.ts';
import { parseHardeningProbe } from '../../installer/hardening/parse.ts';
import { BASELINE_RULES } from '../../installer/hardening/rules/index.ts';
import { hardenPhase } from '../../installer/phases/install/harden.ts';
import type { FakeHost } from '../fixtures/fake-host.ts';
import { CONFIG, harness } from '../fixtures/install-harness.ts';

/**
 * The harden phase on fake hosts answering the hardening probe with states
 * recorded on the lab (test/fixtures/hardening): a fresh lab host has work, a
 * hardened one has none. The fresh login an sshd change must prove is the one
 * thing not on the fake host: it is recorded here, never made (the real proof
 * on a real sshd is in hardening-sshd-change.test.ts), so the test opens no
 * connection whatever the rules ask.
 */
const logins = vi.hoisted(() => [] as string[]);
vi.mock('../../installer/hardening/run.ts', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../installer/hardening/run.ts')>()),
  loginProver: async () => async (host: string) => void logins.push(host),
}));

const fixture = (name: string) => readFileSync(join(import.meta.dirname, '../fixtures/hardening', `${name}.txt`), 'utf8');
const FRESH = fixture('lab-fresh');
const HARDENED = fixture('lab-hardened');

const sections = (t: string) => new Map(t.split(/^(?=@@@@ )/m).map((part) => [/^@@@@ (\S+) @@@@/.exec(part)?.[1] ?? '', part]));
/** the probe output `base` with these sections taken from `from` */
function mix(base: string, from: string, names: readonly string[]): string {
  const out = sections(base);
  const other = sections(from);
  for (const n of names) out.set(n, other.get(n)!);
  return [...out.values()].join('');
}
/** the rules that fail on a recorded state, as the planner judges them */
const failing = (probe: string): string[] => [
  ...new Set(planHost(parseHardeningProbe(probe, { host: 'h', loginUser: 'root' }), BASELINE_RULES, []).fixes.map((f) => f.rule)),
];

const PROBE = /ff\(\) \{ t 120 find/;
const LOGIN_DEFS = /sed -i -E .*\/etc\/login\.defs/s;
/** what ran on the host besides the read-only probe */
const changes = (host: FakeHost): string[] => host.commands.map((c) => c.command).filter((c) => !PROBE.test(c));

/** A fresh host; once a fix has run its probe answers `after` (hardened, unless a test says otherwise). */
function hardenable(host: FakeHost, after = HARDENED): FakeHost {
  host.on(PROBE, (_c, _o, self) => (changes(self).length ? after : FRESH));
  return host;
}

describe('harden phase', () => {
  it('a host with rules failing gets their fixes and is re-checked; hosts already hardened are left alone', async () => {
    logins.length = 0;
    const h = await harness();
    for (const host of h.hosts.values()) host.on(PROBE, HARDENED);
    const host2 = hardenable(h.hosts.get('host2')!);
    const rules = failing(FRESH);
    expect(rules.length).toBeGreaterThan(10); // the fresh lab host has work
    const { result, events } = await h.run(hardenPhase);
    expect(result.ok).toBe(true);
    expect(host2.ran(/chown root:root \/etc\/ssh\/sshd_config && chmod 0600/)).toHaveLength(1);
    expect(host2.ran(LOGIN_DEFS)).toHaveLength(1);
    // the sshd change was kept only after a fresh login to that host was proven
    expect(logins).toEqual(['host2']);
    const notes = result.notes.filter((n) => n.host === 'host2').map((n) => n.note);
    // gathered again after the fixes: "fixed" means the host now passes
    expect(notes[0]).toMatch(
      new RegExp(
        `^host2: hardened: ${rules.length} fixed, \\d+ already right, \\d+ not applicable \\(a systemd-nspawn container: kernel parameters are the machine's\\), 0 excepted`,
      ),
    );
    expect(notes).toContainEqual(expect.stringMatching(/^host2: login\.defs: PASS_MAX_DAYS 365, PASS_MIN_DAYS 1, UMASK 027/));
    expect(notes).toContainEqual(expect.stringMatching(/^host2: modes and owners of \/etc\/ssh\/sshd_config, /));
    expect(notes).toContainEqual(expect.stringMatching(/^host2: sshd: .*a fresh key login works/));
    expect(events).toContainEqual(expect.objectContaining({ phase: 'harden', host: 'host2', status: 'done' }));
    for (const name of ['host1', 'host3', 'host4']) {
      const host = h.hosts.get(name)!;
      expect(events).toContainEqual(expect.objectContaining({ phase: 'harden', host: name, status: 'skipped', message: 'up to date' }));
      expect(changes(host)).toEqual([]);
    }
  });

  it('hosts already hardened are skipped and nothing runs on them but the probe', async () => {
    const h = await harness();
    for (const host of h.hosts.values()) host.on(PROBE, HARDENED);
    const { result } = await h.run(hardenPhase);
    expect(result.ok).toBe(true);
    expect(result.upToDate).toBe(true);
    for (const host of h.hosts.values()) {
      expect(host.commands).toHaveLength(1);
      expect(host.ran(PROBE)).toHaveLength(1);
      expect(host.uploads).toEqual([]);
    }
  });

  it('hardening.profile none: no host is probed or changed', async () => {
    const h = await harness({ yaml: `${CONFIG}hardening: { profile: none }\n` });
    const { result } = await h.run(hardenPhase);
    expect(result.ok).toBe(true);
    for (const host of h.hosts.values()) expect(host.commands).toEqual([]);
  });

  it('a fix the host refuses is an install.harden error naming the host and the rule', async () => {
    const h = await harness();
    for (const host of h.hosts.values()) host.on(PROBE, HARDENED);
    // login.defs cannot be written: after the run, only its rules still fail
    const after = mix(HARDENED, FRESH, ['logindefs']);
    const host3 = hardenable(h.hosts.get('host3')!, after);
    host3.on(LOGIN_DEFS, { code: 1, stderr: "sed: couldn't open temporary file /etc/sedXYZ: Read-only file system\n" });
    const still = failing(after);
    expect(still).toContain('accounts.pass-max-days');
    const { result } = await h.run(hardenPhase);
    expect(result.ok).toBe(false);
    expect(result.failed).toMatchObject({ phase: 'harden', host: 'host3', error: { code: 'install.harden' } });
    const message = (result.failed!.error as Error).message;
    expect(message).toMatch(new RegExp(`^host3: ${still.length} hardening rule\\(s\\) could not be fixed: `));
    expect(message).toContain("accounts.pass-max-days (login.defs failed (exit 1): sed: couldn't open temporary file");
  });

  it('a host whose probe fails is a harden.probe error naming the host', async () => {
    const h = await harness();
    for (const host of h.hosts.values()) host.on(PROBE, HARDENED);
    h.hosts.get('host1')!.on(PROBE, { code: 1, stderr: 'sudo: a password is required\n' });
    const { result } = await h.run(hardenPhase);
    expect(result.ok).toBe(false);
    expect(result.failed).toMatchObject({ phase: 'harden', host: 'host1', error: { code: 'harden.probe' } });
    expect((result.failed!.error as Error).message).toBe('host1: the hardening probe failed (exit 1): sudo: a password is required');
  });

  it('a dry run names the rules each host would fix and changes nothing', async () => {
    logins.length = 0;
    const h = await harness();
    for (const host of h.hosts.values()) host.on(PROBE, HARDENED);
    hardenable(h.hosts.get('host4')!);
    const { result } = await h.run(hardenPhase, { dryRun: true });
    expect(result.ok).toBe(true);
    expect(result.plan.find((p) => p.host === 'host4')?.lines).toEqual([`harden: fix ${failing(FRESH).join(', ')}`]);
    expect(result.plan.find((p) => p.host === 'host1')?.lines).toEqual([]);
    for (const host of h.hosts.values()) {
      expect(changes(host)).toEqual([]);
      expect(host.uploads).toEqual([]);
    }
    expect(logins).toEqual([]);
  });
});
