import { mkdtemp, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../installer/config/load.ts';
import { isPalisadeError } from '../../installer/core/errors.ts';
import { configTemplate } from '../../installer/config/template.ts';
import { main } from '../../installer/cli.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'palisade-config-'));
  await writeFile(join(dir, 'key'), 'k', { mode: 0o600 });
  await writeFile(join(dir, 'open-key'), 'k');
  await chmod(join(dir, 'open-key'), 0o644);
});

const host = (name: string, address: string, role = 'controller', extra = '') =>
  `  - {name: ${name}, address: ${address}, role: ${role}, privateKey: key${extra}}\n`;
const base = (hosts: string, more = '') => `apiVersion: palisade/v1
cluster: {name: lab, fqdn: palisade.lab.internal}
hosts:
${hosts}${more}`;

/** Every problem as "path: message"; [] when the config is valid. */
async function problems(yaml: string): Promise<string[]> {
  try {
    await parseConfig(yaml, join(dir, 'palisade.yaml'));
    return [];
  } catch (e) {
    if (!isPalisadeError(e)) throw e;
    expect(e.exitCode).toBe(2);
    for (const d of e.details) expect(d.message.length).toBeGreaterThan(3);
    return e.details.map((d) => `${d.path}: ${d.message}`);
  }
}
const paths = async (yaml: string) => (await problems(yaml)).map((p) => p.slice(0, p.indexOf(':')));

describe('config validation', () => {
  it('accepts a minimal valid config and fills defaults', async () => {
    expect(await problems(base(host('cp1', '10.0.0.1')))).toEqual([]);
    const { config } = await parseConfig(base(host('cp1', '10.0.0.1')), join(dir, 'p.yaml'));
    expect(config.hosts[0]?.port).toBe(22);
    expect(config.hosts[0]?.user).toBe('root');
    expect(config.ssh.concurrency).toBe(10);
    expect(config.airGapped).toBe(true);
  });

  it('reports five mistakes at once with their paths', async () => {
    const p = await paths(`
apiVersion: palisade/v1
cluster: {name: Lab, fqdn: nodots}
hosts:
  - {name: a, address: 1.2.3.4, port: 70000, role: controller}
  - {name: b, address: 1.2.3.5, role: boss}
extra: 1
`);
    expect(p).toEqual(['extra', 'cluster.name', 'cluster.fqdn', 'hosts[0].port', 'hosts[1].role']);
  });

  it('combines schema and semantic problems in one pass', async () => {
    const p = await paths(base(host('cp1', '10.0.0.1') + '  - {name: cp1, address: 10.0.0.2, role: controller, port: 0}\n'));
    expect(p).toContain('hosts[1].port');
    expect(p).toContain('hosts[1].name');
  });

  it.each([
    ['duplicate names', base(host('a', '10.0.0.1') + host('a', '10.0.0.2', 'worker')), 'hosts[1].name'],
    ['duplicate addresses', base(host('a', '10.0.0.1') + host('b', '10.0.0.1', 'worker')), 'hosts[1].address'],
    ['two controllers', base(host('a', '10.0.0.1') + host('b', '10.0.0.2')), 'hosts'],
    ['no controller', base(host('a', '10.0.0.1', 'worker')), 'hosts'],
    ['missing key file', base('  - {name: a, address: 10.0.0.1, role: controller, privateKey: nope}\n'), 'hosts[0].privateKey'],
    ['world-readable key', base('  - {name: a, address: 10.0.0.1, role: controller, privateKey: open-key}\n'), 'hosts[0].privateKey'],
    ['bad fingerprint', base(host('a', '10.0.0.1', 'controller', ', hostKey: "MD5:aa"')), 'hosts[0].hostKey'],
    ['jump without jumpHost', base(host('a', '10.0.0.1', 'controller', ', viaJumpHost: true')), 'hosts[0].viaJumpHost'],
    ['custom sizing without values', base(host('a', '10.0.0.1'), 'sizing: {profile: custom}\n'), 'sizing.custom'],
    ['unknown registry host', base(host('a', '10.0.0.1'), 'registry: {host: zz}\n'), 'registry.host'],
    ['tang without servers', base(host('a', '10.0.0.1', 'controller', ', dataDisk: /dev/vdb'), 'encryption: {mode: tang}\n'), 'encryption.tang'],
    [
      'threshold above pins',
      base(
        host('a', '10.0.0.1', 'controller', ', dataDisk: /dev/vdb'),
        'encryption: {mode: tang, threshold: 2, tang: [{url: "http://10.0.0.9:7500", thumbprint: abcdefghijklmnopqrstu}]}\n',
      ),
      'encryption.threshold',
    ],
    ['encryption without a disk', base(host('a', '10.0.0.1'), 'encryption: {mode: tpm2}\n'), 'hosts[0].dataDisk'],
    ['bad data disk', base(host('a', '10.0.0.1', 'controller', ', dataDisk: sdb')), 'hosts[0].dataDisk'],
    ['bad vip', base(host('a', '10.0.0.1'), '').replace('fqdn: palisade.lab.internal', 'fqdn: palisade.lab.internal, vip: 10.0.0.300'), 'cluster.vip'],
    ['bad cidr', base(host('a', '10.0.0.1'), '').replace('fqdn: palisade.lab.internal', 'fqdn: palisade.lab.internal, podCidr: 10.42.0.0'), 'cluster.podCidr'],
    ['wrong apiVersion', base(host('a', '10.0.0.1')).replace('palisade/v1', 'palisade/v2'), 'apiVersion'],
    ['no hosts', 'apiVersion: palisade/v1\ncluster: {name: lab, fqdn: a.b.c}\nhosts: []\n', 'hosts'],
    [
      'maintenance window time',
      base(host('a', '10.0.0.1'), 'maintenanceWindows: [{days: [sat], start: "25:00", duration: 4h}]\n'),
      'maintenanceWindows[0].start',
    ],
    ['string port', base(host('a', '10.0.0.1', 'controller', ', port: "22"')), 'hosts[0].port'],
  ])('refuses %s', async (_what, yaml, path) => {
    expect(await paths(yaml)).toContain(path);
  });

  it('explains why an even controller count is refused', async () => {
    const p = await problems(base(host('a', '10.0.0.1') + host('b', '10.0.0.2')));
    expect(p.join('\n')).toMatch(/majority/);
  });

  it('points at the line of a YAML syntax error', async () => {
    const p = await problems('apiVersion: palisade/v1\ncluster:\n  name: [unclosed\n');
    expect(p[0]).toMatch(/^line \d+/);
  });

  it('the init template parses (its only problem is the example key path)', async () => {
    const p = await problems(configTemplate());
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/^hosts\[0\]\.privateKey/);
  });
});

describe('validate command', () => {
  it('exits 2 with every problem and no stack trace', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, base(host('a', '10.0.0.1') + host('a', '10.0.0.1')));
    const chunks: string[] = [];
    const orig = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((c: string) => (chunks.push(String(c)), true)) as typeof process.stderr.write;
    try {
      expect(await main(['node', 'palisade', 'validate', '-c', file])).toBe(2);
    } finally {
      process.stderr.write = orig;
    }
    const out = chunks.join('');
    expect(out).toContain('hosts[1].name');
    expect(out).toContain('hosts[1].address');
    expect(out).not.toMatch(/\n\s+at /);
  });
});
