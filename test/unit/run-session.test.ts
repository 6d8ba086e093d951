import { generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../installer/config/load.ts';
import { PalisadeError } from '../../installer/core/errors.ts';
import type { InstallContext } from '../../installer/phases/install/context.ts';
import { type RunSession, type RunSessionOptions, withRunSession } from '../../installer/phases/run-session.ts';
import type { Phase } from '../../installer/phases/types.ts';
import { CONFIG } from '../fixtures/install-harness.ts';

/** The set-up every changing run (install, upgrade, restore) shares: lock, journal, Ctrl-C, keystore session. */
async function options(o: Partial<RunSessionOptions> = {}): Promise<RunSessionOptions> {
  const dir = await mkdtemp(join(tmpdir(), 'palisade-run-session-'));
  return { loaded: await parseConfig(CONFIG, join(dir, 'palisade.yaml')), command: 'install', lockedBy: 'install --bundle b.tar', dryRun: false, ...o };
}

const { publicKey: trustedKey } = generateKeyPairSync('ed25519');

/** One phase that records the run's signal and finishes once `release` is called. */
function waitingPhase(): { phase: Phase<InstallContext>; started: Promise<void>; release: () => void; changed: string[] } {
  let release!: () => void;
  let started!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const startedP = new Promise<void>((r) => (started = r));
  const changed: string[] = [];
  const phase: Phase<InstallContext> = {
    id: 'work',
    title: 'work',
    shouldRun: () => true,
    run: async (_ctx, task) => {
      started();
      await gate;
      await task.change(undefined, 'change the thing', async () => {
        changed.push('thing');
      });
    },
  };
  return { phase, started: startedP, release, changed };
}

const journalOf = async (s: { files: { journal: string } }) => JSON.parse(await readFile(s.files.journal, 'utf8'));

describe('run session', () => {
  it('a run holds the install lock, records itself in the journal, and lets go when it ends', async () => {
    const o = await options();
    const w = waitingPhase();
    let inside: RunSession | undefined;
    const running = withRunSession(o, (s) => {
      inside = s;
      return s.run({ phases: [w.phase], ctx: s.context({ bundlePath: 'b.tar', trustedKey }), output: 'silent' });
    });
    await w.started;
    // a second run on the same cluster is refused while the first holds the lock, and names the holder
    const second = await withRunSession({ ...o, lockedBy: 'upgrade --bundle c.tar' }, async () => {
      throw new Error('must not start');
    }).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(PalisadeError);
    expect((second as PalisadeError).code).toBe('state.locked');
    expect((second as PalisadeError).message).toContain('install --bundle b.tar');
    w.release();
    const end = await running;
    expect(end.result.ok).toBe(true);
    expect(w.changed).toEqual(['thing']);
    expect(end.stateDir).toBe(join(o.loaded.baseDir, '.palisade', 'unit'));
    const journal = await journalOf(end);
    expect(journal.runs).toEqual([expect.objectContaining({ id: inside!.runId, command: 'install', status: 'done' })]);
    expect(journal.phases.work).toEqual(expect.objectContaining({ status: 'done' }));
    // the lock is free again: the next run starts
    const next = await withRunSession({ ...o, command: 'upgrade', lockedBy: 'upgrade' }, async (s) =>
      s.run({ phases: [], ctx: s.context({ bundlePath: 'b.tar', trustedKey }), output: 'silent' }),
    );
    expect((await journalOf(next)).runs.map((r: { command: string; status: string }) => `${r.command}:${r.status}`)).toEqual(['install:done', 'upgrade:done']);
  });

  it('the context names the cluster, its state directory and keystore, and the run that made it', async () => {
    const o = await options();
    await withRunSession(o, async (s) => {
      const ctx = s.context({ bundlePath: 'b.tar', trustedKey });
      expect(ctx.runId).toBe(s.runId);
      expect(ctx.stateDir).toBe(s.stateDir);
      expect(ctx.keystorePath).toBe(s.keystore.path);
      expect(ctx.keystorePath.startsWith(s.stateDir)).toBe(true);
      expect(ctx.topology.controllers.map((h) => h.name)).toEqual(['host1', 'host2', 'host3']);
      expect(ctx.signal).toBe(s.signal);
      expect(ctx.journal).toBe(s.journal);
      return s.run({ phases: [], ctx, output: 'silent' });
    });
  });

  it('a run that throws is recorded as failed and leaves the lock free', async () => {
    const o = await options();
    const e = await withRunSession(o, async () => {
      throw new PalisadeError('test.boom', 'boom');
    }).catch((x: unknown) => x);
    expect((e as PalisadeError).code).toBe('test.boom');
    const end = await withRunSession(o, (s) => s.run({ phases: [], ctx: s.context({ bundlePath: 'b.tar', trustedKey }), output: 'silent' }));
    expect((await journalOf(end)).runs.map((r: { status: string }) => r.status)).toEqual(['failed', 'done']);
  });

  it('Ctrl-C stops the run between steps, is recorded as interrupted, and the handlers go when the run ends', async () => {
    const o = await options();
    const before = { int: process.listenerCount('SIGINT'), term: process.listenerCount('SIGTERM') };
    const w = waitingPhase();
    const later: Phase<InstallContext> = { id: 'later', title: 'later', shouldRun: () => true, run: async () => void w.changed.push('later') };
    const running = withRunSession(o, (s) => s.run({ phases: [w.phase, later], ctx: s.context({ bundlePath: 'b.tar', trustedKey }), output: 'silent' }));
    await w.started;
    expect(process.listenerCount('SIGINT')).toBe(before.int + 1);
    process.emit('SIGINT', 'SIGINT');
    w.release();
    const end = await running;
    expect(end.result.interrupted).toBe(true);
    expect(w.changed).not.toContain('later');
    expect((await journalOf(end)).runs[0].status).toBe('interrupted');
    expect(process.listenerCount('SIGINT')).toBe(before.int);
    expect(process.listenerCount('SIGTERM')).toBe(before.term);
  });

  it('a dry run takes no lock and writes no journal, and its plan comes from the same changes', async () => {
    const o = await options({ dryRun: true });
    const w = waitingPhase();
    w.release();
    const end = await withRunSession(o, (s) => {
      expect(s.journal).toBeUndefined();
      return s.run({ phases: [w.phase], ctx: s.context({ bundlePath: 'b.tar', trustedKey }), output: 'silent' });
    });
    expect(w.changed).toEqual([]);
    expect(end.result.plan).toEqual([expect.objectContaining({ phase: 'work', lines: [expect.stringContaining('change the thing')] })]);
    expect(existsSync(end.files.journal)).toBe(false);
    expect(existsSync(end.files.lock)).toBe(false);
  });
});
