/**
 * What a restore decides before it touches a host: a backup of another cluster, or
 * from a newer palisade or cluster, is refused; replaced machines are found by
 * machine-id; a different keystore here is kept unless --yes. And install
 * configures k3s's own scheduled snapshots on the controllers only.
 */
import { describe, expect, it } from 'vitest';
import { BACKUP_FORMAT, MEMBERS, type BackupHeader } from '../../installer/backup/format.ts';
import { checkRestorable, keystoreAction, replacedHosts } from '../../installer/backup/restore-plan.ts';
import { parseSnapshotList } from '../../installer/cluster/k3s-snapshot.ts';
import { renderK3sConfig } from '../../installer/cluster/k3s-render.ts';
import { failure } from '../fixtures/errors.ts';

const header = (palisade: string, cluster: string): BackupHeader => ({
  apiVersion: BACKUP_FORMAT,
  cluster: 'lab',
  fqdn: 'p.lab.internal',
  createdAt: '2026-12-01T00:00:00Z',
  takenFrom: { admin: 'a', controller: 'host1' },
  versions: { palisade, cluster },
  withRegistry: false,
  hosts: [],
  snapshot: { member: MEMBERS.snapshot('s'), name: 's' },
  luksHeaders: [],
});

describe('restore decisions', () => {
  it('refuses another cluster, a newer palisade and a newer cluster version; accepts older or equal', async () => {
    const t = { cluster: 'lab', palisade: '0.2.0', clusterVersion: 'v1.30.2+k3s1' };
    expect(() => checkRestorable(header('0.2.0', 'v1.30.2+k3s1'), t, 'f')).not.toThrow();
    expect(() => checkRestorable(header('0.1.9', 'v1.29.6+k3s1'), t, 'f')).not.toThrow();
    expect((await failure(Promise.resolve().then(() => checkRestorable(header('0.3.0', 'v1.30.2+k3s1'), t, 'f')))).code).toBe('restore.newer-palisade');
    expect((await failure(Promise.resolve().then(() => checkRestorable(header('0.2.0', 'v1.31.0+k3s1'), t, 'f')))).code).toBe('restore.newer-cluster');
    expect((await failure(Promise.resolve().then(() => checkRestorable(header('0.2.0', 'v1.30.2+k3s1'), { ...t, cluster: 'other' }, 'f')))).code).toBe(
      'restore.cluster',
    );
  });

  it('a host whose machine-id or pinned host key changed (or was never recorded) is a new machine', () => {
    const machineIds = new Map([
      ['host1', 'a'],
      ['host2', 'x'],
      ['host3', 'c'],
    ]);
    const keys = { host1: 'SHA256:k1', host2: 'SHA256:k2', host3: 'SHA256:k3' };
    expect(replacedHosts({ machineIds: { host1: 'a', host2: 'b' } }, { machineIds, hostKeys: keys })).toEqual(['host2', 'host3']);
    expect(replacedHosts({}, { machineIds, hostKeys: keys })).toEqual(['host1', 'host2', 'host3']);
    // the same machine-id (handed down by the hypervisor) but a new host key
    expect(
      replacedHosts({ machineIds: { host1: 'a', host2: 'x', host3: 'c' }, hostKeys: { ...keys, host3: 'SHA256:old' } }, { machineIds, hostKeys: keys }),
    ).toEqual(['host3']);
  });

  it('the keystore goes back where missing; a different one stays unless --yes', () => {
    expect(keystoreAction(undefined, 'b', false)).toBe('write');
    expect(keystoreAction({ sha256: 'b' }, 'b', false)).toBe('same');
    expect(keystoreAction({ sha256: 'a' }, 'b', false)).toBe('keep-newer');
    expect(keystoreAction({ sha256: 'a' }, 'b', true)).toBe('write');
  });

  it('k3s etcd-snapshot ls is read as k3s prints it; the snapshot schedule goes to controllers only', () => {
    const ls = 'Name Location Size Created\nx-host1-1 file:///var/lib/rancher/k3s/server/db/snapshots/x-host1-1 2048 2026-12-01T07:00:00Z\n';
    expect(parseSnapshotList(ls)).toEqual([
      { name: 'x-host1-1', path: '/var/lib/rancher/k3s/server/db/snapshots/x-host1-1', size: 2048, createdAt: '2026-12-01T07:00:00Z' },
    ]);
    const spec = {
      token: 't',
      fqdn: 'p.lab.internal',
      podCidr: '10.42.0.0/16',
      serviceCidr: '10.43.0.0/16',
      firstServer: { name: 'h1', address: '10.0.0.1' },
      snapshots: { scheduleCron: '0 */6 * * *', retention: 12 },
    };
    expect(renderK3sConfig({ name: 'h1', address: '10.0.0.1', role: 'first' }, spec)).toContain(
      'etcd-snapshot-schedule-cron: "0 */6 * * *"\netcd-snapshot-retention: 12\n',
    );
    expect(renderK3sConfig({ name: 'h4', address: '10.0.0.4', role: 'agent' }, spec)).not.toContain('etcd-snapshot');
  });
});
