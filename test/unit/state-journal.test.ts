import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Journal, resumePoint } from '../../installer/state/journal.ts';

const tmp = () => mkdtemp(join(tmpdir(), 'palisade-journal-'));

describe('journal', () => {
  it('records phases and hosts with timestamps, and survives a reopen', async () => {
    const dir = await tmp();
    const path = join(dir, '.palisade', 'c1', 'journal.json');
    let t = Date.parse('2026-01-01T00:00:00Z');
    const j = await Journal.open(path, 'c1', { now: () => new Date((t += 1000)) });
    await j.startRun('r1', 'install');
    await j.mark('prepare', undefined, 'running');
    await j.mark('prepare', 'host1', 'running');
    await j.mark('prepare', 'host2', 'running');
    await Promise.all([j.mark('prepare', 'host1', 'done'), j.mark('prepare', 'host2', 'failed', { error: 'boom' })]);
    await j.mark('prepare', undefined, 'failed', { error: 'host2 failed' });
    const again = await Journal.open(path, 'c1');
    expect(again.phase('prepare')?.status).toBe('failed');
    expect(again.host('prepare', 'host1')).toMatchObject({ status: 'done', durationMs: expect.any(Number) });
    expect(again.host('prepare', 'host1')!.durationMs).toBeGreaterThan(0);
    expect(again.host('prepare', 'host2')).toMatchObject({ status: 'failed', error: 'boom' });
    expect(again.data.runs[0]).toMatchObject({ id: 'r1', status: 'running' });
    // written atomically: no temp files left, mode 0600
    expect((await readdir(join(dir, '.palisade', 'c1'))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const { stat } = await import('node:fs/promises');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('a new running mark clears the old error', async () => {
    const dir = await tmp();
    const j = await Journal.open(join(dir, 'j.json'), 'c1');
    await j.mark('a', undefined, 'failed', { error: 'x' });
    await j.mark('a', undefined, 'running');
    expect(j.phase('a')?.error).toBeUndefined();
  });

  it('refuses a journal of another cluster and a corrupt file', async () => {
    const dir = await tmp();
    const p = join(dir, 'j.json');
    const j = await Journal.open(p, 'c1');
    await j.save();
    await expect(Journal.open(p, 'other')).rejects.toThrow(/belongs to cluster "c1"/);
    await writeFile(p, '{not json');
    await expect(Journal.open(p, 'c1')).rejects.toThrow(/not valid JSON/);
  });

  it('resume point is the first phase not done', async () => {
    const dir = await tmp();
    const j = await Journal.open(join(dir, 'j.json'), 'c1');
    await j.mark('a', undefined, 'done');
    await j.mark('b', undefined, 'running');
    expect(resumePoint(j.data, ['a', 'b', 'c'])).toBe('b');
    await j.mark('b', undefined, 'done');
    await j.mark('c', undefined, 'done');
    expect(resumePoint(j.data, ['a', 'b', 'c'])).toBeUndefined();
    expect(JSON.parse(await readFile(join(dir, 'j.json'), 'utf8')).phases.c.status).toBe('done');
  });
});
