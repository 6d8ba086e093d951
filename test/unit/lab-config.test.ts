/** The palisade.yaml that scripts/lab writes: valid for every lab shape, hosts pinned, jump host wired. */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../installer/config/load.ts';
import { machineSizing, palisadeYaml, roleOf } from '../../scripts/lab.d/config.ts';
import type { LabHost, LabInfo } from '../../scripts/lab.d/types.ts';

const dir = mkdtempSync(join(tmpdir(), 'lab-config-'));
const keyPath = join(dir, 'id_ed25519');
writeFileSync(keyPath, 'not a real key\n');
chmodSync(keyPath, 0o600);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const GiB = 1024 ** 3;
function lab(count: number, jump: boolean, disks: Record<string, number> = {}): LabInfo {
  const total = count + (jump ? 1 : 0);
  const hosts: LabHost[] = Array.from({ length: total }, (_, k) => {
    const i = k + 1;
    const behind = jump && i === total ? 'host1' : undefined;
    return {
      name: `host${i}`,
      address: `10.231.0.${9 + i}`,
      port: 22,
      netns: `palisade-lab0-host${i}`,
      machine: `palisade-lab0-host${i}`,
      dataDisk: '/dev/vdb',
      loopDevice: `/dev/loop${i}`,
      diskBytes: disks[`host${i}`] ?? 2 * GiB,
      tpm: true,
      hostKey: `SHA256:${String(i).repeat(43).slice(0, 43)}`,
      role: behind ? 'worker' : roleOf(i, count),
      ...(behind ? { behind } : {}),
    };
  });
  return {
    dir,
    slot: 0,
    subnet: '10.231.0.0/27',
    bridge: 'plab0-br',
    gateway: '10.231.0.1',
    keyPath,
    configPath: join(dir, 'palisade.yaml'),
    knownHostsPath: join(dir, 'known_hosts'),
    sshConfigPath: join(dir, 'ssh_config'),
    services: {
      netns: 'palisade-lab0-svc',
      address: '10.231.0.2',
      ntp: '10.231.0.2',
      tang: [
        { url: 'http://10.231.0.2:7500', thumbprint: 'a'.repeat(43) },
        { url: 'http://10.231.0.2:7501', thumbprint: 'b'.repeat(43) },
      ],
    },
    hosts,
  };
}

const sizing = { ...machineSizing(2, 24 * 1024 * 1024), diskBytes: 2 * GiB };

describe('lab palisade.yaml', () => {
  for (const [count, jump] of [
    [1, false],
    [2, false],
    [3, false],
    [4, true],
    [1, true],
  ] as const) {
    it(`is valid for ${count} host(s)${jump ? ' + one behind host1' : ''}`, async () => {
      const info = lab(count, jump);
      const { config } = await parseConfig(palisadeYaml(info, sizing), info.configPath);
      expect(config.hosts.map((h) => h.name)).toEqual(info.hosts.map((h) => h.name));
      expect(config.hosts.map((h) => h.hostKey)).toEqual(info.hosts.map((h) => h.hostKey));
      expect(config.hosts.filter((h) => h.role === 'controller')).toHaveLength(count >= 3 ? 3 : 1);
      expect(config.hosts.every((h) => h.privateKey === keyPath && h.user === 'root' && h.dataDisk === '/dev/vdb')).toBe(true);
      expect(config.cluster.fqdn).toBe('palisade.lab.internal');
      expect(config.encryption).toMatchObject({ mode: 'tang', allowUnopened: true, tang: info.services.tang });
      expect(config.sizing).toEqual({
        profile: 'custom',
        custom: { controller: { cpus: 2, memoryGiB: 12, diskGB: 2.1 }, worker: { cpus: 2, memoryGiB: 12, diskGB: 2.1 } },
      });
      if (jump) {
        expect(config.jumpHost).toMatchObject({ address: '10.231.0.10', hostKey: info.hosts[0]!.hostKey, privateKey: keyPath });
        expect(config.hosts.map((h) => h.viaJumpHost)).toEqual(info.hosts.map((h) => h.behind === 'host1'));
      } else {
        expect(config.jumpHost).toBeUndefined();
        expect(config.hosts.every((h) => !h.viaJumpHost)).toBe(true);
      }
      // every waiver says why
      const text = palisadeYaml(info, sizing);
      const ignore = text.slice(text.indexOf('preflight:'));
      for (const id of config.preflight.ignore) expect(ignore.slice(0, ignore.indexOf(`- ${id}`))).toMatch(/#[^\n]+\n\s*$/);
    });
  }

  it('sizes the disk by the lab default, so a host given a smaller disk is one preflight flags', async () => {
    const info = lab(3, false, { host1: 1 * GiB });
    const { config } = await parseConfig(palisadeYaml(info, sizing), info.configPath);
    expect(config.sizing.custom!.controller.diskGB).toBeGreaterThan(info.hosts[0]!.diskBytes / 1e9);
    expect(config.sizing.custom!.controller.diskGB).toBeLessThanOrEqual(info.hosts[1]!.diskBytes / 1e9);
  });

  it('roles: 1 controller below 3 hosts, then 3', () => {
    expect([1, 2].map((i) => roleOf(i, 2))).toEqual(['controller', 'worker']);
    expect([1, 2, 3, 4].map((i) => roleOf(i, 4))).toEqual(['controller', 'controller', 'controller', 'worker']);
  });
});
