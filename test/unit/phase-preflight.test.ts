import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseProbeOutput } from '../../installer/facts/parse.ts';
import { FACTS, MACHINE_IDS, PREFLIGHT_TARGETS } from '../../installer/phases/install/outputs.ts';
import { preflightPhase } from '../../installer/phases/install/preflight.ts';
import { readCheckedHosts } from '../../installer/state/checked-hosts.ts';
import { stateFiles } from '../../installer/state/paths.ts';
import { harness } from '../fixtures/install-harness.ts';

/** One lab host, recorded (test/fixtures/facts); the checks the lab cannot honestly pass are waived as the lab test does. */
const yaml = (memoryGiB = 11) => `apiVersion: palisade/v1
cluster: { name: unit, fqdn: palisade.lab.internal }
sizing: { profile: custom, custom: { controller: { cpus: 2, memoryGiB: ${memoryGiB}, diskGB: 2.1 }, worker: { cpus: 2, memoryGiB: 11, diskGB: 2.1 } } }
preflight: { ignore: [time.sync, airgap.route, disk.latency] }
hosts:
  - { name: host1, address: 10.231.0.10, role: controller, dataDisk: /dev/vdb }
`;
const recorded = readFileSync(join(import.meta.dirname, '../fixtures/facts/lab-host1.txt'), 'utf8');
const facts = () => {
  const f = parseProbeOutput(recorded, { name: 'host1', address: '10.231.0.10', fqdn: 'palisade.lab.internal', dataDisk: '/dev/vdb' });
  f.time = { ...f.time, sentAtMs: f.time.epochMs! - 20, receivedAtMs: f.time.epochMs! + 20 };
  return f;
};
const ID = 'a'.repeat(32);
const given = (targets: string[]) => ({
  outputs: [
    [PREFLIGHT_TARGETS, targets],
    [MACHINE_IDS, new Map([['host1', ID]])],
  ] as const,
  hostOutputs: [[FACTS, 'host1', facts()]] as const,
});

describe('preflight phase', () => {
  it('checks the hosts it is given against the sizing profile and records the ones it passed on', async () => {
    const h = await harness({ yaml: yaml() });
    const { result } = await h.run(preflightPhase, { ...given(['host1']) });
    expect(
      result.ok,
      String(
        (result.failed?.error as { details?: unknown })?.details
          ? JSON.stringify((result.failed!.error as { details: unknown }).details)
          : result.failed?.error,
      ),
    ).toBe(true);
    expect(await readCheckedHosts(stateFiles(h.ctx.stateDir).checkedHosts)).toEqual({ host1: ID });
    // the facts were handed in: nothing ran on the host
    expect(h.hosts.get('host1')!.commands).toEqual([]);
  });

  it('no host to check (all passed before, none replaced): skipped, nothing written', async () => {
    const h = await harness({ yaml: yaml() });
    const { result, events } = await h.run(preflightPhase, { ...given([]) });
    expect(events).toContainEqual(expect.objectContaining({ phase: 'preflight', status: 'skipped' }));
    expect(result.ok).toBe(true);
    expect(existsSync(stateFiles(h.ctx.stateDir).checkedHosts)).toBe(false);
  });

  it('a host short of memory fails install.preflight naming the host and the check, and nothing is recorded', async () => {
    const h = await harness({ yaml: yaml(4096) });
    const { result } = await h.run(preflightPhase, { ...given(['host1']) });
    expect(result.failed?.error).toMatchObject({
      code: 'install.preflight',
      details: expect.arrayContaining([expect.objectContaining({ path: expect.stringMatching(/^host1 .*memory/) })]),
    });
    expect(existsSync(stateFiles(h.ctx.stateDir).checkedHosts)).toBe(false);
  });

  it('a dry run lists it and checks nothing', async () => {
    const h = await harness({ yaml: yaml() });
    const { result } = await h.run(preflightPhase, { ...given(['host1']), dryRun: true });
    expect(result.plan).toEqual([{ phase: 'preflight', lines: ['Preflight checks'], readOnly: true }]);
    expect(existsSync(stateFiles(h.ctx.stateDir).checkedHosts)).toBe(false);
  });
});
