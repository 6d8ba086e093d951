import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCheckedHosts, uncheckedHosts, writeCheckedHosts } from '../../installer/state/checked-hosts.ts';

const A = 'a'.repeat(32);
const B = 'b'.repeat(32);
const C = 'c'.repeat(32);

describe('hosts preflight passed on', () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-checked-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a host is unchecked when it is new or another machine now answers at its name', () => {
    const now = new Map([
      ['host1', A],
      ['host2', C],
      ['host3', B],
    ]);
    expect(uncheckedHosts({ host1: A, host2: B }, now)).toEqual(['host2', 'host3']);
    expect(uncheckedHosts({ host1: A, host2: C, host3: B }, now)).toEqual([]);
    expect(uncheckedHosts({}, now)).toEqual(['host1', 'host2', 'host3']);
  });

  it('round-trips through its file; a missing or damaged file is no record', async () => {
    const f = join(dir, 'sub', 'preflight-hosts.json');
    expect(await readCheckedHosts(f)).toBeUndefined();
    await writeCheckedHosts(f, { host1: A });
    expect(JSON.parse(readFileSync(f, 'utf8'))).toEqual({ host1: A });
    expect(await readCheckedHosts(f)).toEqual({ host1: A });
    writeFileSync(f, '{ not json');
    expect(await readCheckedHosts(f)).toBeUndefined();
    writeFileSync(f, JSON.stringify({ host1: A, host2: 7 }));
    expect(await readCheckedHosts(f)).toEqual({ host1: A });
  });
});
