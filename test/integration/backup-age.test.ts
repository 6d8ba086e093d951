/**
 * A backup opens with the standard `age` tool, without palisade: with the
 * passphrase typed at its prompt (a terminal, as an operator would), or with
 * the identity of a --recipient. `palisade backup verify` refuses a changed,
 * cut-off or wrongly-keyed file with one line and exit 1.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BACKUP_FORMAT, MEMBERS, type BackupHeader } from '../../installer/backup/format.ts';
import { BackupWriter } from '../../installer/backup/writer.ts';
import type { SealKey } from '../../installer/backup/age.ts';
import { palisade } from '../fixtures/pki/cli.ts';

const PASS = 'typed at the age prompt';
const dir = mkdtempSync(join(tmpdir(), 'backup-age-'));
const header: BackupHeader = {
  apiVersion: BACKUP_FORMAT,
  cluster: 'lab',
  fqdn: 'palisade.lab.internal',
  createdAt: new Date().toISOString(),
  takenFrom: { admin: 'jump', controller: 'host1' },
  versions: { palisade: '0.1.0' },
  withRegistry: false,
  hosts: [],
  snapshot: { member: MEMBERS.snapshot('s'), name: 's' },
  luksHeaders: [],
};

async function backup(path: string, seal: SealKey): Promise<void> {
  const w = await BackupWriter.create(path, seal);
  await w.addBuffer(MEMBERS.header, JSON.stringify(header));
  await w.addBuffer(MEMBERS.token, 'the-join-token');
  await w.addStream(MEMBERS.snapshot('s'), 300_000, Readable.from([Buffer.alloc(300_000, 3)]));
  await w.finish(header);
}

const tarList = (file: string): string[] => execFileSync('tar', ['tf', file], { encoding: 'utf8' }).trim().split('\n');

describe('backup files and the age CLI', () => {
  it('age -d opens a passphrase backup (typed at its prompt): a tar of every member, the manifest last', async () => {
    const f = join(dir, 'p.backup.age');
    await backup(f, { passphrase: PASS });
    const out = join(dir, 'p.tar');
    // age reads a passphrase from the terminal only: give it one
    const r = spawnSync('script', ['-qec', `age -d -o ${out} ${f}`, '/dev/null'], { input: `${PASS}\n`, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(tarList(out)).toEqual([MEMBERS.header, MEMBERS.token, MEMBERS.snapshot('s'), MEMBERS.manifest]);
    expect(readFileSync(f).includes('the-join-token')).toBe(false);
  }, 90_000);

  it('age -d -i opens a --recipient backup; palisade backup verify --identity checks it', async () => {
    const key = join(dir, 'key.txt');
    execFileSync('age-keygen', ['-o', key], { stdio: 'ignore' });
    const recipient = execFileSync('age-keygen', ['-y', key], { encoding: 'utf8' }).trim();
    const f = join(dir, 'r.backup.age');
    await backup(f, { recipients: [recipient] });
    const out = join(dir, 'r.tar');
    execFileSync('age', ['-d', '-i', key, '-o', out, f]);
    expect(tarList(out)).toContain(MEMBERS.manifest);
    const v = await palisade(['backup', 'verify', f, '--identity', key], { cwd: dir });
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toMatch(/verified, 3 members match the manifest/);
  }, 90_000);

  it('verify refuses a changed byte, a cut-off end and a wrong passphrase: one line each, exit 1', async () => {
    const f = join(dir, 'v.backup.age');
    await backup(f, { passphrase: PASS, workFactor: 10 });
    const pp = join(dir, 'pp');
    writeFileSync(pp, `${PASS}\n`, { mode: 0o600 });
    const ok = await palisade(['backup', 'verify', f, '--passphrase-file', pp], { cwd: dir });
    expect(ok.code, ok.stderr).toBe(0);
    const bytes = readFileSync(f);
    const changed = Buffer.from(bytes);
    changed[changed.length - 200_000]! ^= 0x40;
    writeFileSync(join(dir, 'changed.backup.age'), changed);
    writeFileSync(join(dir, 'cut.backup.age'), bytes.subarray(0, bytes.length - 5000));
    const cases: Array<[string, string[], RegExp]> = [
      ['changed.backup.age', ['--passphrase-file', pp], /^error \[backup\.tampered\]: .*changed after it was written/],
      ['cut.backup.age', ['--passphrase-file', pp], /^error \[backup\.truncated\]: .*truncated/],
      ['v.backup.age', [], /^error \[backup\.key\]: .*wrong passphrase/],
    ];
    for (const [file, args, want] of cases) {
      const r = await palisade(['backup', 'verify', join(dir, file), ...args], {
        cwd: dir,
        env: args.length ? {} : { PALISADE_PASSPHRASE: 'not the passphrase' },
      });
      expect(r.code, `${file}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toMatch(want);
      expect(r.stdout).toBe('');
    }
  }, 120_000);
});
