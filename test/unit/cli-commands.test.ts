import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildProgram, main } from '../../installer/cli.ts';

/** Run the CLI in-process; stdout, stderr and the exit code. */
async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
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

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'palisade-cli-'));
  await writeFile(join(dir, 'key'), 'k', { mode: 0o600 });
  await writeFile(
    join(dir, 'ok.yaml'),
    'apiVersion: palisade/v1\ncluster: {name: lab, fqdn: palisade.lab.internal}\nhosts:\n  - {name: cp1, address: 10.0.0.1, role: controller, privateKey: key}\n  - {name: w1, address: 10.0.0.2, role: worker, privateKey: key}\n',
  );
  await writeFile(
    join(dir, 'bad.yaml'),
    'apiVersion: palisade/v1\ncluster: {name: lab, fdqn: palisade.lab.internal}\nhosts:\n  - {name: cp1, address: 10.0.0.1, role: controller, privateKey: key, prot: 22}\n',
  );
});

describe('unknown commands', () => {
  it.each([
    [['frobnicate', '--help'], 'frobnicate'],
    [['nosuch', 'sub', '--help'], 'nosuch'],
    [['help', 'nosuch'], 'nosuch'],
    [['nosuch'], 'nosuch'],
    [['keys', 'lst', '--help'], 'keys lst'],
  ])('palisade %j exits 2 and says "unknown command"', async (args, what) => {
    const r = await run(...args);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`unknown command "${what}"`);
    expect(r.out).not.toMatch(/Usage:/);
  });

  it('names the nearest real command', async () => {
    expect((await run('statsu', '--help')).err).toMatch(/did you mean `palisade status`\?/);
    expect((await run('help', 'preflite')).err).toMatch(/did you mean `palisade preflight`\?/);
    expect((await run('keys', 'lsit')).err).toMatch(/did you mean `palisade keys list`\?/);
  });

  it('real commands still show their help and exit 0', async () => {
    for (const args of [['--help'], ['keys', '--help'], ['help', 'keys'], ['keys', 'list', '--help'], ['help']]) {
      const r = await run(...args);
      expect(r.code, args.join(' ')).toBe(0);
    }
  });
});

/** Leaf commands that print a report or a result; every one takes --output json. */
function leaves(c: Command, path: string[] = []): Array<{ path: string; cmd: Command }> {
  if (c.commands.length === 0) return [{ path: path.join(' '), cmd: c }];
  return c.commands.filter((s) => s.name() !== 'help').flatMap((s) => leaves(s, [...path, s.name()]));
}

describe('--output json', () => {
  // these print a document for another program and nothing else: the JSON Schema, Kubernetes YAML
  const exempt = new Set(['config schema', 'access render']);

  it('every command that prints a report or a result takes --output json', () => {
    const missing = leaves(buildProgram())
      .filter((l) => !exempt.has(l.path))
      // its own, or its group's (`upgrade -o json windows`, `upgrade windows -o json`)
      .filter((l) => ![l.cmd, l.cmd.parent].some((c) => c?.options.some((o) => o.long === '--output')))
      .map((l) => l.path);
    expect(missing).toEqual([]);
  });

  it('validate --output json prints the result as one JSON document', async () => {
    const r = await run('validate', '-c', join(dir, 'ok.yaml'), '--output', 'json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ ok: true, cluster: 'lab', controllers: 1, workers: 1, hosts: ['cp1', 'w1'] });
  });

  it('a refusal in JSON mode is a JSON document too, with every problem', async () => {
    const r = await run('validate', '-c', join(dir, 'bad.yaml'), '-o', 'json');
    expect(r.code).toBe(2);
    const doc = JSON.parse(r.out) as { ok: boolean; error: { code: string; details: Array<{ path: string; message: string }> } };
    expect(doc.ok).toBe(false);
    expect(doc.error.code).toBe('config.invalid');
    expect(doc.error.details.map((d) => d.path)).toEqual(['cluster.fdqn', 'hosts[0].prot']);
    expect(r.err).toContain('did you mean `fqdn`?');
  });

  it('init, bundle keygen and pack validate report as JSON', async () => {
    const init = await run('init', '-c', join(dir, 'new.yaml'), '-o', 'json');
    expect(JSON.parse(init.out)).toEqual({ ok: true, path: join(dir, 'new.yaml') });
    const kg = await run('bundle', 'keygen', '--out', join(dir, 'sign.key'), '--output', 'json');
    expect(kg.code).toBe(0);
    expect(JSON.parse(kg.out)).toMatchObject({ ok: true, privateKey: join(dir, 'sign.key'), publicKey: join(dir, 'sign.pub'), keyId: expect.any(String) });
    const pack = join(dir, 'pack');
    await mkdir(pack, { recursive: true });
    await writeFile(join(pack, 'pack.json'), JSON.stringify({ name: 'demo', displayName: 'Demo', version: '1.0.0', layer: 'addon' }));
    await writeFile(join(pack, 'values.yaml'), 'a: 1\n');
    const pv = await run('pack', 'validate', pack, '-o', 'json');
    expect(pv.code, pv.err).toBe(0);
    expect(JSON.parse(pv.out)).toMatchObject({ ok: true, name: 'demo', version: '1.0.0', layer: 'addon' });
  });

  it('refuses an output format it does not know', async () => {
    const r = await run('validate', '-c', join(dir, 'ok.yaml'), '-o', 'yaml');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--output must be text or json/);
  });
});
