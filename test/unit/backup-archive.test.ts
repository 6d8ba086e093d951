/**
 * The backup file format: what goes in comes out, checked against the manifest;
 * a changed byte, a cut-off end, a wrong passphrase or a member that does not
 * match the manifest is refused with its own error.
 */
import { mkdtemp, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BackupWriter } from '../../installer/backup/writer.ts';
import { readBackup } from '../../installer/backup/reader.ts';
import { BACKUP_FORMAT, MEMBERS, backupFileName, backupsToPrune, compareVersions, type BackupHeader } from '../../installer/backup/format.ts';
import { failure } from '../fixtures/errors.ts';

const PASS = 'a long enough passphrase';
const header = (): BackupHeader => ({
  apiVersion: BACKUP_FORMAT,
  cluster: 'lab',
  fqdn: 'palisade.lab.internal',
  createdAt: '2026-12-01T07:00:00.000Z',
  takenFrom: { admin: 'jump', controller: 'host1' },
  versions: { palisade: '0.1.0', cluster: 'v1.30.2+k3s1' },
  withRegistry: false,
  hosts: [{ name: 'host1', role: 'controller', address: '10.0.0.1' }],
  snapshot: { member: MEMBERS.snapshot('snap-1'), name: 'snap-1' },
  luksHeaders: [],
});

async function write(dir: string, members: Record<string, Buffer>): Promise<string> {
  const path = join(dir, backupFileName('lab', new Date('2026-12-01T07:00:00Z')));
  const w = await BackupWriter.create(path, { passphrase: PASS, workFactor: 10 });
  await w.addBuffer(MEMBERS.header, JSON.stringify(header()));
  for (const [name, data] of Object.entries(members)) await w.addStream(name, data.length, Readable.from([data]));
  await w.finish(header());
  return path;
}

describe('backup archive', () => {
  it('round-trips every member, mode 0600, and holds nothing in plain form', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'backup-'));
    const secret = 'K10-join-token-that-must-not-show';
    const big = Buffer.alloc(3 << 20, 7);
    const path = await write(dir, { [MEMBERS.token]: Buffer.from(secret), [MEMBERS.snapshot('snap-1')]: big });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const bytes = await readFile(path);
    expect(bytes.subarray(0, 22).toString()).toBe('age-encryption.org/v1\n');
    expect(bytes.includes(Buffer.from(secret))).toBe(false);
    const got = new Map<string, Buffer>();
    const r = await readBackup(path, { passphrase: PASS }, async (m, data) => {
      const parts: Buffer[] = [];
      for await (const c of data) parts.push(c as Buffer);
      got.set(m.path, Buffer.concat(parts));
    });
    expect(r.members.map((m) => m.path)).toEqual([MEMBERS.header, MEMBERS.token, MEMBERS.snapshot('snap-1')]);
    expect(got.get(MEMBERS.token)!.toString()).toBe(secret);
    expect(got.get(MEMBERS.snapshot('snap-1'))!.equals(big)).toBe(true);
    expect(r.header.cluster).toBe('lab');
  });

  it('refuses a wrong passphrase, a changed byte and a cut-off end, each with its own error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'backup-'));
    const path = await write(dir, { [MEMBERS.snapshot('snap-1')]: Buffer.alloc(200_000, 1) });
    expect((await failure(readBackup(path, { passphrase: 'not the passphrase' }))).code).toBe('backup.key');
    const bytes = await readFile(path);
    const changed = join(dir, 'changed.backup.age');
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 70_000]! ^= 1;
    await writeFile(changed, flipped);
    expect((await failure(readBackup(changed, { passphrase: PASS }))).code).toBe('backup.tampered');
    const cut = join(dir, 'cut.backup.age');
    await writeFile(cut, bytes);
    await truncate(cut, bytes.length - 1000);
    expect((await failure(readBackup(cut, { passphrase: PASS }))).code).toBe('backup.truncated');
    // any byte of the header: refused before a byte of the payload is read
    for (let at = 22; at < 120; at += 7) {
      const headerChanged = Buffer.from(bytes);
      headerChanged[at]! ^= 1;
      await writeFile(changed, headerChanged);
      expect(['backup.tampered', 'backup.key'], `byte ${at}`).toContain((await failure(readBackup(changed, { passphrase: PASS }))).code);
    }
  });

  it('a member that does not match the manifest is refused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'backup-'));
    const path = join(dir, 'x.backup.age');
    const w = await BackupWriter.create(path, { passphrase: PASS, workFactor: 10 });
    await w.addBuffer(MEMBERS.header, JSON.stringify(header()));
    await w.addBuffer(MEMBERS.token, 'abc');
    // a manifest that names a member the archive lacks
    w.members.push({ path: 'datastore/missing', size: 1, sha256: '0'.repeat(64) });
    await w.finish(header());
    const e = await failure(readBackup(path, { passphrase: PASS }));
    expect(e.code).toBe('backup.manifest');
    expect(e.details.map((d) => d.message).join()).toContain('datastore/missing');
  });

  it('names sort by time; pruning keeps the newest; versions compare by number', () => {
    expect(backupFileName('lab', new Date('2026-12-01T07:08:09.123Z'))).toBe('palisade-lab-20261201T070809Z.backup.age');
    const b = [{ createdAt: '2026-12-01T01:00:00Z' }, { createdAt: '2026-12-03T01:00:00Z' }, { createdAt: '2026-12-02T01:00:00Z' }];
    expect(backupsToPrune(b, 2)).toEqual([{ createdAt: '2026-12-01T01:00:00Z' }]);
    expect(backupsToPrune(b, 0)).toHaveLength(3);
    expect(compareVersions('0.10.0', '0.9.9')).toBe(1);
    expect(compareVersions('v1.30.2+k3s1', 'v1.30.2+k3s1')).toBe(0);
    expect(compareVersions('v1.29.9+k3s1', 'v1.30.0+k3s1')).toBe(-1);
    expect(compareVersions('x', '1.0.0')).toBeUndefined();
  });
});
