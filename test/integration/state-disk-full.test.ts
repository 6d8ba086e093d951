import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Journal } from '../../installer/state/journal.ts';
import { failure } from '../fixtures/errors.ts';
import { clusterDir, palisade } from '../fixtures/pki/cli.ts';

/**
 * The admin side's disk fills up while palisade writes its state: a small
 * tmpfs (mounted here, unmounted after) holds the state directory. The
 * operator gets one clear line, and the previous keystore and journal are
 * intact and readable.
 */
const PASS = 'operator passphrase for a full disk';
const env = { PALISADE_PASSPHRASE: PASS };
const root = process.getuid?.() === 0;
let dir: string;
let mnt: string;
let mounted = false;
const sha = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');

/** Fill the tmpfs up to its last few KiB. */
function fill(): void {
  const st = statfsSync(mnt);
  const free = st.bavail * st.bsize;
  writeFileSync(join(mnt, `filler-${Date.now()}`), Buffer.alloc(Math.max(0, free - 4096)));
}

beforeAll(async () => {
  if (!root) return;
  dir = clusterDir();
  const r = await palisade(['keys', 'generate'], { cwd: dir, env });
  expect(r.code).toBe(0);
  mnt = mkdtempSync(join(tmpdir(), 'palisade-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k,mode=0700', 'palisade-test-full', mnt]);
  mounted = true;
  // the state directory lives on the small file system
  cpSync(join(dir, '.palisade'), join(mnt, '.palisade'), { recursive: true });
  rmSync(join(dir, '.palisade'), { recursive: true, force: true });
  symlinkSync(join(mnt, '.palisade'), join(dir, '.palisade'));
}, 60_000);
afterAll(() => {
  if (mounted) execFileSync('umount', [mnt]);
  if (mnt) rmSync(mnt, { recursive: true, force: true });
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!root)('the state directory on a full disk', () => {
  it('a keystore write fails with one clear line (exit 1); the previous keystore is byte-identical and still opens', async () => {
    const ks = join(mnt, '.palisade', 'demo', 'keystore.json');
    const before = sha(ks);
    fill();
    const r = await palisade(['keys', 'rotate', 'secret/join-token'], { cwd: dir, env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error \[state\.write\]: cannot write .*keystore\.json: no space left on the device; the previous file is unchanged\n/);
    expect(r.stderr).not.toMatch(/internal error|^\s+at /m);
    expect(sha(ks)).toBe(before);
    const list = await palisade(['keys', 'list'], { cwd: dir, env });
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('secret/join-token');
  });

  it('a journal write fails as a state.write error; the journal on disk is the previous one and reads back', async () => {
    const path = join(mnt, '.palisade', 'demo', 'journal.json');
    mkdirSync(join(mnt, '.palisade', 'demo'), { recursive: true });
    rmSync(join(mnt, '.palisade', 'demo', 'journal.json'), { force: true });
    // room for a journal: drop the fillers, write one, then fill again
    for (const f of readdirSync(mnt).filter((x) => x.startsWith('filler-'))) rmSync(join(mnt, f));
    const j = await Journal.open(path, 'demo');
    await j.startRun('r1', 'install');
    await j.mark('bundle', undefined, 'done');
    const before = sha(path);
    fill();
    const e = await failure(j.mark('connect', undefined, 'running', { note: 'x'.repeat(64 << 10) }));
    expect(e.code).toBe('state.write');
    expect(sha(path)).toBe(before);
    const again = await Journal.open(path, 'demo');
    expect(again.phase('bundle')?.status).toBe('done');
  });
});
