import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, describe, expect, it } from 'vitest';
import { preflightReportSchema } from '../../installer/preflight/schema.ts';

const bin = resolve(import.meta.dirname, '../../installer/bin/palisade.js');
const dir = mkdtempSync(join(tmpdir(), 'palisade-preflight-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cfg = join(dir, 'palisade.yaml');
// a key nobody accepts: the host (nothing listens on port 1) fails before it would be offered
writeFileSync(
  join(dir, 'id_ed25519'),
  spawnSync('sh', ['-c', `ssh-keygen -q -t ed25519 -N '' -f ${join(dir, 'k')} && cat ${join(dir, 'k')}`], { encoding: 'utf8' }).stdout,
  { mode: 0o600 },
);
writeFileSync(
  cfg,
  `apiVersion: palisade/v1
cluster: { name: cli, fqdn: localhost.cli.internal }
sizing: { profile: large }
hosts:
  - { name: h1, address: 127.0.0.1, port: 1, role: controller, privateKey: ${join(dir, 'id_ed25519')} }
`,
);
const run = (...args: string[]) => spawnSync('node', [bin, 'preflight', '-c', cfg, ...args], { encoding: 'utf8', timeout: 60_000 });

describe('palisade preflight (CLI)', () => {
  it('--local --output json: one document that validates; exit 1 when a check fails', () => {
    const r = run('--local', '--output', 'json');
    expect(r.status).toBe(1); // the large profile wants 32 CPUs
    const doc = JSON.parse(r.stdout);
    const validate = new Ajv({ strict: true, allErrors: true, validateFormats: false }).compile(preflightReportSchema as object);
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    expect(doc.findings.find((f: { id: string }) => f.id === 'cpu.count')).toMatchObject({ status: 'fail', required: '>= 32 (controller, large)' });
  });

  it('an unreachable host: its failure in the table, exit 1, no stack', () => {
    const r = run('--no-disk-probe');
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^h1\s+host\.reachable\s+FAIL/m);
    expect(r.stdout + r.stderr).not.toMatch(/\n\s+at /);
  });

  it('usage mistakes exit 2', () => {
    expect(run('--output', 'xml').status).toBe(2);
    expect(run('--host', 'nope').status).toBe(2);
    expect(run('--local', '--host', 'h1').status).toBe(2);
    expect(spawnSync('node', [bin, 'preflight', '-c', join(dir, 'missing.yaml')], { encoding: 'utf8' }).status).toBe(2);
  });
});

describe('palisade preflight on a reachable host (loopback sshd)', () => {
  it("prints each host's summary line once (progress says only that the host is done)", async () => {
    const { startSshd } = await import('../fixtures/sshd.ts');
    const sshd = await startSshd();
    try {
      const c = join(dir, 'reach.yaml');
      writeFileSync(
        c,
        `apiVersion: palisade/v1
cluster: { name: reach, fqdn: localhost.reach.internal }
hosts:
  - { name: h1, address: 127.0.0.1, port: ${sshd.port}, role: controller, privateKey: ${sshd.keys.ed25519.path}, hostKey: "${sshd.hostKeyFingerprint}" }
`,
      );
      const r = spawnSync('node', [bin, 'preflight', '-c', c, '--no-disk-probe'], { encoding: 'utf8', timeout: 90_000 });
      const all = `${r.stdout}\n${r.stderr}`.split('\n');
      const summaries = all.filter((l) => /^h1: .*, kernel /.test(l));
      expect(summaries, all.join('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^h1: facts gathered$/m);
    } finally {
      await sshd.stop();
    }
  }, 120_000);
});
