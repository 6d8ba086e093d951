import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../installer/cli.ts';
import { freePort, keygen } from '../fixtures/sshd.ts';

/**
 * `palisade encryption plan|apply|status`: flags, refusals and unreachable
 * hosts, without a lab (the lab test runs the commands against real disks).
 */
let dir: string;
let key: string;
let closedPort: number;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'palisade-enc-cli-'));
  key = keygen(join(dir, 'id_ed25519'), 'ed25519').path;
  closedPort = await freePort();
});

async function configFile(mode: string): Promise<string> {
  const file = join(dir, `palisade-${mode}.yaml`);
  await writeFile(
    file,
    `apiVersion: palisade/v1
cluster: { name: enc, fqdn: palisade.example.internal }
ssh: { connectTimeoutSeconds: 2 }
hosts:
  - { name: h1, role: controller, address: 127.0.0.1, port: ${closedPort}, privateKey: ${key}, dataDisk: /dev/vdb }
encryption:
  mode: ${mode}
  tang: [{ url: "http://127.0.0.1:7599", thumbprint: "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG" }]
`,
  );
  return file;
}

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const o = process.stdout.write.bind(process.stdout);
  const e = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((c: string) => (out.push(String(c)), true)) as typeof process.stdout.write;
  process.stderr.write = ((c: string) => (err.push(String(c)), true)) as typeof process.stderr.write;
  try {
    const code = await main(['node', 'palisade', ...args]);
    return { code, out: out.join(''), err: err.join('') };
  } finally {
    process.stdout.write = o;
    process.stderr.write = e;
  }
}

describe('palisade encryption', () => {
  it('an unknown --host is a usage error (exit 2) naming the hosts there are', async () => {
    const r = await cli(['encryption', 'plan', '-c', await configFile('tang'), '--host', 'h9']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no host named "h9".*\n.*hosts in the config: h1/);
  });

  it('--output must be text or json', async () => {
    const r = await cli(['encryption', 'status', '-c', await configFile('tang'), '--output', 'yaml']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--output must be text or json, not "yaml"');
  });

  it('with encryption off, plan and apply say so and connect to nothing', async () => {
    const cfg = await configFile('none');
    const plan = await cli(['encryption', 'plan', '-c', cfg]);
    expect(plan).toMatchObject({ code: 0, out: 'no hosts with disk encryption configured\n' });
    const apply = await cli(['encryption', 'apply', '-c', cfg, '--output', 'json']);
    expect(apply.code).toBe(0);
    expect(JSON.parse(apply.out)).toEqual({ hosts: [], ok: true });
  });

  it('a host that cannot be reached: plan and status list it and exit 1; apply changes nothing and exits 1', async () => {
    const cfg = await configFile('tang');
    const plan = await cli(['encryption', 'plan', '-c', cfg, '--output', 'json']);
    expect(plan.code).toBe(1);
    const p = JSON.parse(plan.out) as { unreachable: Array<{ path: string; message: string }> };
    expect(p.unreachable).toEqual([{ path: 'h1', message: expect.stringMatching(/^\[ssh\.[a-z-]+\] /) }]);

    const status = await cli(['encryption', 'status', '-c', cfg]);
    expect(status.code).toBe(1);
    expect(status.out).toMatch(/^h1\s+-\s+tang\s+error\s+\[ssh\./m);

    const apply = await cli(['encryption', 'apply', '-c', cfg, '--yes']);
    expect(apply.code).toBe(1);
    expect(apply.err).toContain('error [encryption.unreachable]: no host could be reached; nothing was changed');
    expect(apply.err).not.toMatch(/\n\s+at /);
  });
});
