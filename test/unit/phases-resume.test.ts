import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../installer/config/load.ts';
import type { RemoteHost } from '../../installer/hosts/types.ts';
import { connectPhase } from '../../installer/phases/install/connect.ts';
import type { InstallContext } from '../../installer/phases/install/context.ts';
import { PREFLIGHT_TARGETS } from '../../installer/phases/install/outputs.ts';
import { runPhases, type JournalView } from '../../installer/phases/runner.ts';
import type { Phase } from '../../installer/phases/types.ts';
import { Journal, resumePoint, type StepRecord } from '../../installer/state/journal.ts';

/** Where a resumed install picks up when the journal records a failed phase: a failure is never taken as a pass. */
const yaml = `apiVersion: palisade/v1
cluster: { name: lab, fqdn: palisade.lab.internal }
hosts:
  - { name: host1, address: 10.231.0.10, role: controller }
  - { name: host2, address: 10.231.0.11, role: worker }
`;

function fakeHost(name: string, i: number): RemoteHost {
  return {
    name,
    address: `10.231.0.${10 + i}`,
    exec: async () => ({ code: 0, stdout: `${String(i).repeat(32)}\n`, stderr: '' }),
    upload: async () => undefined,
    close: async () => undefined,
  };
}

async function preflightTargetsAfterConnect(preflight: StepRecord['status'] | undefined): Promise<readonly string[] | undefined> {
  const { config } = await parseConfig(yaml, 'palisade.yaml');
  const stateDir = await mkdtemp(join(tmpdir(), 'palisade-resume-'));
  const journal: JournalView = {
    phase: (id) =>
      id === 'preflight' && preflight
        ? ({ status: preflight } as StepRecord)
        : id === 'facts' || id === 'bundle'
          ? ({ status: 'done' } as StepRecord)
          : undefined,
    host: () => undefined,
  };
  const ctx = {
    config,
    stateDir,
    baseDir: stateDir,
    runId: 'r1',
    journal,
    connect: async () => ({ hosts: new Map(config.hosts.map((h, i) => [h.name, fakeHost(h.name, i + 1)])), failures: [] }),
  } as unknown as InstallContext;
  let seen: readonly string[] | undefined;
  const probe: Phase<InstallContext> = {
    id: 'probe',
    title: 'read what connect decided',
    always: true,
    readOnly: true,
    shouldRun: () => true,
    async run(_c, task) {
      seen = task.outputs.maybe(PREFLIGHT_TARGETS);
    },
  };
  // a dry run: connect takes no host locks and writes no state file; the decision is the same
  const r = await runPhases({ phases: [connectPhase, probe], ctx, journal, dryRun: true, observers: [] });
  expect(r.ok).toBe(true);
  return seen;
}

describe('resume after a failed phase', () => {
  it('a preflight the journal records as failed is run again, on every host', async () => {
    expect(await preflightTargetsAfterConnect('failed')).toEqual(['host1', 'host2']);
    expect(await preflightTargetsAfterConnect('running')).toEqual(['host1', 'host2']);
    expect(await preflightTargetsAfterConnect(undefined)).toEqual(['host1', 'host2']);
  });

  it('only a preflight recorded as passed (done) is not run again', async () => {
    expect(await preflightTargetsAfterConnect('done')).toEqual([]);
  });

  it('the resume point is the failed phase, not the one after it', async () => {
    const j = await Journal.open(join(await mkdtemp(join(tmpdir(), 'palisade-resume-j-')), 'journal.json'), 'lab');
    for (const id of ['bundle', 'connect', 'facts']) await j.mark(id, undefined, 'done');
    await j.mark('preflight', undefined, 'failed', { error: 'disk too small' });
    expect(resumePoint(j.data, ['bundle', 'connect', 'facts', 'preflight', 'prepare'])).toBe('preflight');
    await j.mark('preflight', undefined, 'running');
    await j.mark('preflight', undefined, 'done');
    expect(resumePoint(j.data, ['bundle', 'connect', 'facts', 'preflight', 'prepare'])).toBe('prepare');
  });
});
