import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseConfig } from '../../installer/config/load.ts';
import { configSchema } from '../../installer/config/schema.ts';
import { strictJsonSchema, unknownFields } from '../../installer/config/strict.ts';
import { isPalisadeError } from '../../installer/core/errors.ts';
import { nearestName } from '../../installer/core/suggest.ts';
import { main } from '../../installer/cli.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'palisade-strict-'));
  await writeFile(join(dir, 'key'), 'k', { mode: 0o600 });
});

const valid = `apiVersion: palisade/v1
cluster: {name: lab, fqdn: palisade.lab.internal}
hosts:
  - {name: cp1, address: 10.0.0.1, role: controller, privateKey: key, dataDisk: /dev/vdb}
`;

/** Every problem as "path: message (hint)"; [] when valid. */
async function problems(yaml: string): Promise<string[]> {
  try {
    await parseConfig(yaml, join(dir, 'palisade.yaml'));
    return [];
  } catch (e) {
    if (!isPalisadeError(e)) throw e;
    expect(e.exitCode).toBe(2);
    return e.details.map((d) => `${d.path}: ${d.message}${d.hint ? ` (${d.hint})` : ''}`);
  }
}

describe('unknown fields at every depth', () => {
  it('the valid base config passes', async () => {
    expect(await problems(valid)).toEqual([]);
  });

  it.each([
    ['cluster.podCIDR', valid.replace('fqdn: palisade.lab.internal', 'fqdn: palisade.lab.internal, podCIDR: 10.42.0.0/16'), 'podCidr'],
    ['encryption.allowUnopend', `${valid}encryption: {mode: none, allowUnopend: true}\n`, 'allowUnopened'],
    ['ssh.connectTimeoutSecs', `${valid}ssh: {connectTimeoutSecs: 5}\n`, 'connectTimeoutSeconds'],
    ['hosts[0].prot', valid.replace('role: controller', 'role: controller, prot: 2222'), 'port'],
    ['cluster.fdqn', valid.replace('fqdn:', 'fdqn:'), 'fqdn'],
    ['encryption.tpm2.pcr', `${valid}encryption: {mode: none, tpm2: {pcr: [7]}}\n`, 'pcrs'],
    ['hosts[0].encryption.wype', valid.replace('role: controller', 'role: controller, encryption: {wype: true}'), 'wipe'],
    ['encryption.tang[0].thumbprnt', `${valid}encryption: {mode: none, tang: [{url: "http://10.0.0.9:7500", thumbprnt: abcdefghijklmnopq}]}\n`, 'thumbprint'],
    ['maintenanceWindows[0].timezon', `${valid}maintenanceWindows: [{days: [sat], start: "02:00", duration: 4h, timezon: UTC}]\n`, 'timezone'],
  ])('refuses %s with its path and the nearest name', async (path, yaml, near) => {
    const p = await problems(yaml);
    const line = p.find((l) => l.startsWith(`${path}: unknown field`));
    expect(line, p.join('\n')).toBeDefined();
    expect(line).toContain(`did you mean \`${near}\`?`);
  });

  it('a misspelled required field is one problem, not also "is required"', async () => {
    const p = await problems(valid.replace('fqdn:', 'fdqn:'));
    expect(p).toHaveLength(1);
  });

  it('an unknown field with nothing near lists the fields that exist', async () => {
    const p = await problems(`${valid}registry: {port: 5000, zzzzzzzz: 1}\n`);
    expect(p.join('\n')).toMatch(/registry\.zzzzzzzz: unknown field "zzzzzzzz" \(remove it; the fields here are: port, host, storageDir\)/);
  });

  it('suggests the nearest enum value', async () => {
    const p = await problems(`${valid}encryption: {mode: tnag}\n`);
    expect(p.join('\n')).toMatch(/encryption\.mode: "tnag" is not one of .*did you mean `tang`\?/);
  });

  it('a section added to the schema later is strict without any extra code', () => {
    const withNewSection = configSchema.extend({
      hardening: z.object({ rules: z.array(z.object({ id: z.string(), enabled: z.boolean().default(true) })).default([]) }).optional(),
      access: z.object({ tenants: z.record(z.string(), z.object({ quota: z.number() })) }).optional(),
    });
    const raw = {
      hardening: { rules: [{ id: 'ssh-1', enabeld: false }], rulez: [] },
      access: { tenants: { a: { quota: 1, qouta: 2 } } },
    };
    expect(unknownFields(withNewSection, raw).map((d) => `${d.path}: ${d.message}`)).toEqual([
      'hardening.rules[0].enabeld: unknown field "enabeld" (did you mean `enabled`?)',
      'hardening.rulez: unknown field "rulez" (did you mean `rules`?)',
      'access.tenants.a.qouta: unknown field "qouta" (did you mean `quota`?)',
    ]);
  });

  it('a section with only a comment under it is still absent, a null value is not', async () => {
    expect(await problems(`${valid}bundle:\n  # trustedKey: k.pub\n`)).toEqual([]);
    const p = await problems(valid.replace('role: controller', 'role: controller, port: null'));
    expect(p.join('\n')).toMatch(/^hosts\[0\]\.port: expected number, got null/m);
  });
});

describe('hostile configs', () => {
  it('a YAML alias bomb is a config error, exit 2, not an internal error', async () => {
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const cur = String.fromCharCode(97 + i);
      lines.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const file = join(dir, 'bomb.yaml');
    await writeFile(file, `${lines.join('\n')}\n${valid}`);
    const err: string[] = [];
    const orig = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((c: string) => (err.push(String(c)), true)) as typeof process.stderr.write;
    const started = Date.now();
    let code: number;
    try {
      code = await main(['node', 'palisade', 'validate', '-c', file]);
    } finally {
      process.stderr.write = orig;
    }
    expect(code).toBe(2);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(err.join('')).toMatch(/error \[config\.yaml\]: .*too many YAML aliases/);
    expect(err.join('')).not.toMatch(/internal error|\n\s+at /);
  });

  it.each(['$(touch /tmp/x)', '; touch /tmp/x', '`touch /tmp/x`', 'host name', '-oProxyCommand=x', 'a..b', ''])('refuses the address %j', async (address) => {
    const p = await problems(valid.replace('address: 10.0.0.1', `address: ${JSON.stringify(address)}`));
    expect(p.join('\n')).toMatch(/^hosts\[0\]\.address: must (be an IP address or an RFC 1123 host name|not be empty)/m);
  });

  it.each(['$(touch /tmp/x)', '; touch /tmp/x', '`id`', '-oProxyCommand=x', 'ro ot', '..', 'a'.repeat(33)])('refuses the SSH user %j', async (user) => {
    const p = await problems(valid.replace('role: controller', `role: controller, user: ${JSON.stringify(user)}`));
    expect(p.join('\n')).toMatch(/^hosts\[0\]\.user: must be a portable POSIX user name/m);
  });

  it('refuses a hostile jump host too', async () => {
    const p = await problems(`${valid}jumpHost: {address: "$(reboot)", user: "x;y"}\n`);
    expect(p.join('\n')).toMatch(/^jumpHost\.address: must be an IP/m);
    expect(p.join('\n')).toMatch(/^jumpHost\.user: must be a portable POSIX/m);
  });

  it.each(['10.0.0.1', 'fd00::1', 'host1', 'host-1.dc1.example.internal', '1host.example.'])('accepts the address %s', async (address) => {
    expect(await problems(valid.replace('address: 10.0.0.1', `address: ${JSON.stringify(address)}`))).toEqual([]);
  });

  it.each(['root', 'ops', 'deploy_user', 'svc-palisade', 'a.b', '_x'])('accepts the user %s', async (user) => {
    expect(await problems(valid.replace('role: controller', `role: controller, user: ${user}`))).toEqual([]);
  });
});

describe('config schema', () => {
  const schema = strictJsonSchema(configSchema);

  it('compiles under ajv strict mode (standard JSON Schema only)', () => {
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    ajv.addFormat('uri', true);
    expect(() => ajv.compile(schema)).not.toThrow();
  });

  it('says additionalProperties: false on every object', () => {
    const open: string[] = [];
    const walk = (node: unknown, path: string) => {
      if (Array.isArray(node)) {
        for (const [i, n] of node.entries()) walk(n, `${path}[${i}]`);
        return;
      }
      if (!node || typeof node !== 'object') return;
      const o = node as Record<string, unknown>;
      if (o.type === 'object' && o.properties && o.additionalProperties !== false) open.push(path || '(root)');
      for (const [k, v] of Object.entries(o)) walk(v, `${path}/${k}`);
    };
    walk(schema, '');
    expect(open).toEqual([]);
  });

  it('refuses the same nested typos validation refuses', () => {
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    ajv.addFormat('uri', true);
    const validate = ajv.compile(schema);
    const doc = {
      apiVersion: 'palisade/v1',
      cluster: { name: 'lab', fqdn: 'a.b.cc', podCIDR: '10.0.0.0/8' },
      hosts: [{ name: 'a', address: '10.0.0.1', role: 'controller', prot: 22 }],
    };
    expect(validate(doc)).toBe(false);
    const paths = (validate.errors ?? [])
      .filter((e) => e.keyword === 'additionalProperties')
      .map((e) => `${e.instancePath} ${String(e.params.additionalProperty)}`);
    expect(paths).toEqual(expect.arrayContaining(['/cluster podCIDR', '/hosts/0 prot']));
    const fixed = { ...doc, cluster: { name: 'lab', fqdn: 'A.b.cc' }, hosts: [{ name: 'a', address: '10.0.0.1', role: 'controller', dataDisk: '/dev/vdb' }] };
    expect(validate(fixed), JSON.stringify(validate.errors)).toBe(true);
  });

  it('has no non-standard formats', () => {
    expect(JSON.stringify(schema)).not.toMatch(/"format":"(starts_with|ends_with|includes)"/);
  });
});

describe('nearest name', () => {
  it.each([
    ['fdqn', ['name', 'fqdn', 'vip'], 'fqdn'],
    ['podCIDR', ['podCidr', 'serviceCidr'], 'podCidr'],
    ['prot', ['port', 'user', 'address'], 'port'],
    ['upgrade', ['install', 'status', 'preflight'], undefined],
    ['statsu', ['install', 'status', 'preflight'], 'status'],
  ])('%s → %s', (input, known, want) => {
    expect(nearestName(input, known)).toBe(want);
  });
});
