import { createHash } from 'node:crypto';
import { copyFile, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MEMBERS } from '../../backup/format.ts';
import { keystoreAction } from '../../backup/restore-plan.ts';
import { writeFileAtomic } from '../../core/atomic.ts';
import type { Outputs, Phase } from '../types.ts';
import { BACKUP, type RestoreContext } from './context.ts';

const sha = async (p: string): Promise<string | undefined> => {
  try {
    return createHash('sha256')
      .update(await readFile(p))
      .digest('hex');
  } catch {
    return undefined;
  }
};

/** state files put back only where missing: this workstation's own are newer */
const STATE_FILES = ['install-report.json', 'install-report.txt', 'preflight-hosts.json'];

async function pending(ctx: RestoreContext, outputs: Outputs) {
  const b = outputs.get(BACKUP);
  const local = await sha(ctx.keystorePath);
  const action = keystoreAction(local ? { sha256: local } : undefined, (await sha(b.file(MEMBERS.keystore)))!, ctx.yes);
  const missing: string[] = [];
  for (const f of STATE_FILES) {
    const inBackup = await stat(b.file(MEMBERS.state(f))).then(
      () => true,
      () => false,
    );
    if (
      inBackup &&
      !(await stat(join(ctx.stateDir, f)).then(
        () => true,
        () => false,
      ))
    )
      missing.push(f);
  }
  return { keystore: action, missing };
}

/**
 * The keystore back where it is missing (a lost workstation); a different one
 * here is newer (rotated keys, new recovery keys) and stays unless --yes.
 * Runs before anything opens the keystore.
 */
export const keystorePhase: Phase<RestoreContext> = {
  id: 'keystore',
  title: 'Put the keystore and reports back where they are missing',
  async shouldRun(ctx, i) {
    const p = await pending(ctx, i.outputs);
    return p.keystore !== 'same' || p.missing.length > 0;
  },
  async run(ctx, task) {
    const b = task.outputs.get(BACKUP);
    const p = await pending(ctx, task.outputs);
    if (p.keystore === 'write') {
      await task.change(undefined, `put the backup's keystore at ${ctx.keystorePath}`, async () =>
        writeFileAtomic(ctx.keystorePath, await readFile(b.file(MEMBERS.keystore)), { mode: 0o600, mkdirp: true }),
      );
      task.note(`keystore put back from the backup at ${ctx.keystorePath}`);
    } else if (p.keystore === 'keep-newer') {
      task.note(`kept the keystore at ${ctx.keystorePath}: it differs from the backup's (newer keys); --yes replaces it`);
    }
    for (const f of p.missing)
      await task.change(undefined, `put ${f} back in ${ctx.stateDir}`, () => copyFile(b.file(MEMBERS.state(f)), join(ctx.stateDir, f)));
  },
};
