import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { K3sDriver } from '../../installer/cluster/k3s.ts';
import type { ClusterSpec, NodeSpec } from '../../installer/cluster/types.ts';
import { contentSha256 } from '../../installer/hosts/files.ts';
import type { ExecOptions, ExecResult, RemoteHost, UploadOptions } from '../../installer/hosts/types.ts';

/** A host that answers commands from a script of [pattern, answer] pairs and records everything. */
class ScriptedHost implements RemoteHost {
  readonly execs: Array<{ cmd: string; stdin?: string }> = [];
  readonly uploads: Array<{ path: string; mode?: number; data: string }> = [];
  constructor(
    readonly name: string,
    private readonly answers: Array<[RegExp, Partial<ExecResult> | ((cmd: string) => Partial<ExecResult>)]>,
    readonly address = '10.0.0.1',
  ) {}
  async exec(cmd: string, o: ExecOptions = {}): Promise<ExecResult> {
    this.execs.push({ cmd, ...(o.stdin !== undefined ? { stdin: String(o.stdin) } : {}) });
    for (const [re, a] of this.answers) if (re.test(cmd)) return { code: 0, stdout: '', stderr: '', ...(typeof a === 'function' ? a(cmd) : a) };
    return { code: 0, stdout: '', stderr: '' };
  }
  async upload(src: string | Buffer, path: string, o: UploadOptions = {}): Promise<void> {
    this.uploads.push({ path, ...(o.mode !== undefined ? { mode: o.mode } : {}), data: Buffer.isBuffer(src) ? src.toString() : `file:${src}` });
  }
  async close(): Promise<void> {}
}

const spec: ClusterSpec = {
  token: 'super-secret-join-token-1234',
  fqdn: 'palisade.lab.internal',
  podCidr: '10.42.0.0/16',
  serviceCidr: '10.43.0.0/16',
  firstServer: { name: 'host1', address: '10.0.0.1' },
  registry: { endpoint: '10.0.0.1:5000', username: 'u', password: 'registry-password-5678', caPem: 'CA' },
};
const first: NodeSpec = { name: 'host1', address: '10.0.0.1', role: 'first' };

async function binary(): Promise<string> {
  const p = join(await mkdtemp(join(tmpdir(), 'k3s-bin-')), 'k3s');
  await writeFile(p, '#!/bin/sh\n');
  return p;
}

describe('k3s driver', () => {
  it('uploads what differs with 0600 for secret files; secrets never appear in a command line', async () => {
    const h = new ScriptedHost('host1', [[/sha256sum/, { stdout: '' }]]);
    const changed = await new K3sDriver().install(h, first, spec, { binary: await binary() });
    expect(changed).toEqual(
      expect.arrayContaining(['/usr/local/bin/k3s', '/etc/rancher/k3s/config.yaml', '/etc/systemd/system/k3s.service', '/etc/rancher/k3s/registries.yaml']),
    );
    expect(h.uploads.find((u) => u.path === '/etc/rancher/k3s/config.yaml')).toMatchObject({ mode: 0o600 });
    expect(h.uploads.find((u) => u.path === '/etc/rancher/k3s/registries.yaml')).toMatchObject({ mode: 0o600 });
    expect(h.uploads.find((u) => u.path === '/etc/rancher/k3s/config.yaml')!.data).toContain(spec.token);
    for (const e of h.execs) {
      expect(e.cmd).not.toContain(spec.token);
      expect(e.cmd).not.toContain(spec.registry!.password);
    }
  });

  it('uploads nothing when every file is in place', async () => {
    const d = new K3sDriver();
    const art = { binary: await binary() };
    const files = await d.desiredFiles(first, spec, art);
    const sums = await Promise.all(files.map((f) => contentSha256(f.source)));
    const probe = files.map((f, i) => `${sums[i]} ${f.mode.toString(8)}_root:root ${f.path}`).join('\n');
    const h = new ScriptedHost('host1', [[/sha256sum/, { stdout: probe }]]);
    expect(await d.install(h, first, spec, art)).toEqual([]);
    expect(h.uploads).toEqual([]);
  });

  it('waitReady times out naming the host, the reason and the last journal lines', async () => {
    const h = new ScriptedHost('host2', [
      [/systemctl is-active/, { stdout: 'activating\n' }],
      [/journalctl -u k3s/, { stdout: 'level=info msg="starting"\nlevel=info msg="failed to join https://10.0.0.1:6443: token rejected (401); retrying"\n' }],
    ]);
    const node: NodeSpec = { name: 'host2', address: '10.0.0.2', role: 'server' };
    const err = (await new K3sDriver().waitReady(h, node, h, { timeoutMs: 50 }).catch((e: unknown) => e)) as Error & { hint?: string };
    expect(err).toMatchObject({ code: 'cluster.not-ready' });
    expect(err.message).toMatch(/^host2: k3s did not become ready within 0 s: k3s is activating/);
    expect(err.hint).toMatch(/token rejected \(401\)/);
  });

  it('resets a first controller that never came up, never one that was ready once', async () => {
    const d = new K3sDriver();
    const half = new ScriptedHost('host1', [[/palisade-initialized/, { stdout: 'half\n' }]]);
    expect(await d.reset(half, first, spec)).toBe(true);
    expect(half.execs.some((e) => /systemctl stop k3s.*rm -rf \/var\/lib\/rancher\/k3s\/server/.test(e.cmd))).toBe(true);
    const done = new ScriptedHost('host1', [[/palisade-initialized/, { stdout: 'initialized\n' }]]);
    expect(await d.reset(done, first, spec)).toBe(false);
    expect(done.execs.some((e) => /rm -rf/.test(e.cmd))).toBe(false);
  });

  it('applies objects as one JSON List on stdin', async () => {
    const h = new ScriptedHost('host1', [[/kubectl apply/, { stdout: 'secret/a created\n' }]]);
    const out = await new K3sDriver().apply(h, [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'a' }, data: { k: 'c2VjcmV0' } }]);
    expect(out).toEqual(['secret/a created']);
    const e = h.execs.find((x) => /kubectl apply -f -/.test(x.cmd))!;
    expect(JSON.parse(e.stdin!)).toMatchObject({ kind: 'List', items: [{ kind: 'Secret' }] });
    expect(e.cmd).not.toContain('c2VjcmV0');
  });
});
