/** Taking a lab down by its record (DIR/state.json): `down`, and `up` clearing what a killed run left. */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { readState, statePath, teardown } from './state.ts';
import { elapsed, LabError, say } from './sys.ts';
import type { LabState } from './types.ts';

export async function down(dir: string): Promise<void> {
  const state = readState(dir);
  if (!state) {
    say(`nothing to take down in ${dir} (no state.json)`);
    return;
  }
  rmSync(join(dir, 'lab.json'), { force: true });
  const problems = await teardown(state, (s) => say(`  ${s}`));
  if (problems.length) throw new LabError(`down left things behind: ${problems.join('; ')}`);
  rmSync(statePath(dir), { force: true });
  say(`down in ${elapsed()}`);
}

/** A killed run leaves its record: clears exactly what it made. Returns that record (its slot is preferred again). */
export async function clearPrevious(dir: string): Promise<LabState | undefined> {
  const old = readState(dir);
  if (old) {
    say(`clearing the previous lab in ${dir}`);
    const problems = await teardown(old, (s) => say(`  ${s}`));
    if (problems.length) throw new LabError(`could not clear the previous lab: ${problems.join('; ')}`);
    rmSync(statePath(dir), { force: true });
  }
  rmSync(join(dir, 'lab.json'), { force: true });
  return old;
}
