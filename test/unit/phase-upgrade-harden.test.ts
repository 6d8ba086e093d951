import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hardenPhase } from '../../installer/phases/install/harden.ts';
import { UPGRADE_PHASES } from '../../installer/phases/upgrade/index.ts';
import { harness } from '../fixtures/install-harness.ts';

/**
 * The upgrade runs the harden phase after its host steps: on fake hosts that
 * answer the hardening probe with recorded lab hosts (one fresh, the others
 * hardened), only the fresh one is changed, its sshd change is proven by a
 * fresh login, a dry run changes nothing, and a second run is up to date.
 */
const fixture = (name: string) => readFileSync(join(import.meta.dirname, '../fixtures/hardening', `${name}.txt`), 'utf8');
const PROBE = /@@@@ sshdcheck @@@@|m sshdcheck/;
const SSHD_WRITE = /00-palisade-hardening\.conf\.palisade-tmp/;

async function setUp() {
  const h = await harness();
  const proved: string[] = [];
  h.ctx.proveLogin = async (host) => void proved.push(host);
  for (const [name, host] of h.hosts) {
    // host2 is fresh until palisade's sshd drop-in was written on it
    host.on(PROBE, (_c, _o, self) => fixture(name === 'host2' && self.ran(SSHD_WRITE).length === 0 ? 'lab-fresh' : 'lab-hardened'));
  }
  return { h, proved };
}

describe('harden in the upgrade flow', () => {
  it('is a phase of the upgrade, after the host steps and the registry, before the report', () => {
    const ids = UPGRADE_PHASES.map((p) => p.id);
    expect(ids).toContain(hardenPhase.id);
    expect(ids.indexOf('harden')).toBeGreaterThan(ids.indexOf('upgrade-hosts'));
    expect(ids.indexOf('harden')).toBe(ids.indexOf('upgrade-report') - 1);
  });

  it('hardens the host that drifted, proves the fresh login there, and only reads the others', async () => {
    const { h, proved } = await setUp();
    const { result, events } = await h.run(hardenPhase);
    expect(result.ok).toBe(true);
    expect(proved).toEqual(['host2']);
    const host2 = h.hosts.get('host2')!;
    expect(host2.ran(SSHD_WRITE)).toHaveLength(1);
    expect(host2.ran(/60-palisade-hardening\.conf/).some((c) => c.includes('modprobe'))).toBe(true);
    for (const n of ['host1', 'host3', 'host4']) {
      // the probe of shouldRun, nothing else
      expect(h.hosts.get(n)!.commands).toHaveLength(1);
      expect(events).toContainEqual(expect.objectContaining({ phase: 'harden', host: n, status: 'skipped' }));
    }
    const notes = result.notes.filter((n) => n.host === 'host2').map((n) => n.note);
    expect(notes[0]).toMatch(/^host2: hardened: 40 fixed, 34 already right, 27 not applicable/);
    expect(notes.some((n) => /for root alone: AllowTcpForwarding, MaxSessions/.test(n))).toBe(true);
  });

  it('a dry run says what it would fix on the drifted host and changes nothing anywhere', async () => {
    const { h, proved } = await setUp();
    const { result } = await h.run(hardenPhase, { dryRun: true });
    const plan = result.plan.find((p) => p.host === 'host2')!.lines.join('\n');
    expect(plan).toMatch(/^harden: fix ssh\.config-mode, .*kernel\.module-usb-storage/);
    expect(result.plan.find((p) => p.host === 'host1')?.lines ?? []).toEqual([]);
    expect(proved).toEqual([]);
    for (const host of h.hosts.values()) expect(host.commands.every((c) => PROBE.test(c.command))).toBe(true);
  });

  it('run again, every host is up to date', async () => {
    const { h } = await setUp();
    await h.run(hardenPhase);
    const before = new Map([...h.hosts].map(([n, host]) => [n, host.commands.length]));
    const { result } = await h.run(hardenPhase);
    expect(result.upToDate).toBe(true);
    for (const [n, host] of h.hosts) expect(host.commands.length - before.get(n)!).toBe(1);
  });
});
