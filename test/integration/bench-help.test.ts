/**
 * Every bench script answers --help with its usage and exits 0 before it runs anything: no
 * lab brought up (its --dir is not created), no bench work directory made, no bundle built.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const repo = resolve(import.meta.dirname, '../..');
const benchDir = join(repo, 'scripts/bench');
// the helpers the benches share, and the compiled children they build, have no usage of their own
const shared = new Set(['harness.ts', 'lab-env.ts']);
const benches = readdirSync(benchDir).filter((f) => f.endsWith('.ts') && !shared.has(f) && !f.endsWith('-one.ts'));
const scratch = mkdtempSync(join(tmpdir(), 'bench-help-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('bench scripts: --help', () => {
  it('finds the benches', () => {
    expect(benches).toEqual(
      expect.arrayContaining(['verify.ts', 'seed.ts', 'preflight.ts', 'lab.ts', 'encryption.ts', 'backup.ts', 'keys.ts', 'upload.ts', 'startup.ts']),
    );
  });
  it.each(benches)('%s --help prints its usage and runs nothing', (file) => {
    const tmp = mkdtempSync(join(scratch, 'tmp-'));
    const labDir = join(scratch, `lab-${file}`);
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(benchDir, file), '--help', ...(['preflight.ts', 'encryption.ts', 'lynis.ts'].includes(file) ? ['--dir', labDir] : [])],
      {
        cwd: repo,
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...process.env, TMPDIR: tmp, PALISADE_LAB_DIR: labDir },
      },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^usage: node --import tsx scripts/bench/${file.replace('.', '\\.')}`));
    expect(r.stdout).toContain('--rounds N');
    expect(existsSync(labDir)).toBe(false);
    expect(readdirSync(tmp).filter((f) => f.startsWith('palisade-bench'))).toEqual([]);
  });
  it('an unknown option is refused before anything runs', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(benchDir, 'verify.ts'), '--no-such-option'], {
      cwd: repo,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/no-such-option/);
  });
});
