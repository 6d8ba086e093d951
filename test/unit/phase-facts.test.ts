import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { factsPhase } from '../../installer/phases/install/facts.ts';
import { FACTS, PREFLIGHT_TARGETS } from '../../installer/phases/install/outputs.ts';
import { harness } from '../fixtures/install-harness.ts';

const probe = readFileSync(join(import.meta.dirname, '../fixtures/facts/lab-host1.txt'), 'utf8');
const PROBE = /printf '.*==== %s ====/s;

describe('facts phase', () => {
  it('gathers the facts of the hosts preflight will check (one probe each) and hands them on', async () => {
    const h = await harness();
    for (const host of h.hosts.values()) host.on(PROBE, probe);
    const { result } = await h.run(factsPhase, { outputs: [[PREFLIGHT_TARGETS, ['host2', 'host4']]] });
    expect(result.ok).toBe(true);
    const facts = result.outputs.ofHosts(FACTS);
    expect([...facts.keys()].sort()).toEqual(['host2', 'host4']);
    expect(facts.get('host2')?.name).toBe('host2');
    expect(facts.get('host2')?.memory?.totalBytes).toBeGreaterThan(0);
    expect(h.hosts.get('host2')!.ran(PROBE)).toHaveLength(1);
  });

  it('hosts preflight already passed on are skipped: no probe runs', async () => {
    const h = await harness();
    const { result } = await h.run(factsPhase, { outputs: [[PREFLIGHT_TARGETS, []]] });
    expect(result.ok).toBe(true);
    for (const host of h.hosts.values()) expect(host.commands).toEqual([]);
  });

  it('a probe that fails is a facts.probe error naming the host', async () => {
    const h = await harness();
    for (const host of h.hosts.values()) host.on(PROBE, probe);
    h.hosts.get('host3')!.on(PROBE, { code: 1, stderr: 'sudo: a password is required\n' });
    const { result } = await h.run(factsPhase);
    expect(result.failed).toMatchObject({
      phase: 'facts',
      host: 'host3',
      error: { code: 'facts.probe', message: expect.stringMatching(/^host3: the facts probe failed \(exit 1\): sudo: a password is required/) },
    });
  });

  it('a dry run lists the hosts it would probe and probes none', async () => {
    const h = await harness();
    const { result } = await h.run(factsPhase, { dryRun: true, outputs: [[PREFLIGHT_TARGETS, ['host1']]] });
    expect(result.plan.filter((p) => p.lines.length).map((p) => p.host)).toEqual(['host1']);
    for (const host of h.hosts.values()) expect(host.commands).toEqual([]);
  });
});
