import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ExecOptions, ExecResult, RemoteHost, UploadOptions } from '../../installer/hosts/types.ts';
import { htpasswdLine } from '../../installer/pki/htpasswd.ts';
import { installRegistry, type InstallRegistryOptions } from '../../installer/registry/service.ts';

/**
 * The check/act logic of installRegistry, against a scripted host that keeps
 * files and the unit's state in memory. (The real install on a lab host is
 * test/lab/registry-service.test.ts.)
 */
class ScriptedHost implements RemoteHost {
  readonly name = 'ctl-1';
  readonly address = '10.231.0.10';
  files = new Map<string, { data: Buffer; mode: number; owner: string }>();
  commands: string[] = [];
  uploads: string[] = [];
  active = false;
  restarts = 0;
  reloads = 0;

  async exec(command: string, _o?: ExecOptions): Promise<ExecResult> {
    this.commands.push(command);
    const ok = (stdout = ''): ExecResult => ({ code: 0, stdout, stderr: '' });
    if (command.startsWith('for f in ')) {
      const paths = (/^for f in (.*?); do/.exec(command)?.[1] ?? '').split(' ');
      return ok(
        paths
          .map((p) => {
            const f = this.files.get(p);
            return f ? `${createHash('sha256').update(f.data).digest('hex')} ${f.mode.toString(8)}_${f.owner} ${p}` : `- - ${p}`;
          })
          .join('\n') + '\n',
      );
    }
    if (command.startsWith("sed -n 's/^ *secret:")) {
      const cfg = this.files.get('/etc/palisade/registry/config.yml')?.data.toString() ?? '';
      return ok(/^ *secret: *(.*)$/m.exec(cfg)?.[1] ?? '');
    }
    if (command === 'systemctl daemon-reload') this.reloads++;
    if (command.startsWith('systemctl restart')) {
      this.restarts++;
      this.active = true;
    }
    if (command.startsWith('systemctl is-active palisade-registry;')) return ok(`${this.active ? 'active' : 'inactive'}\nLISTEN 0 4096 *:5000 *:*\n`);
    if (command.startsWith('systemctl is-active')) return { code: this.active ? 0 : 3, stdout: this.active ? 'active\n' : 'inactive\n', stderr: '' };
    return ok();
  }

  async upload(source: string | Buffer, remotePath: string, o: UploadOptions = {}): Promise<void> {
    this.uploads.push(remotePath);
    this.files.set(remotePath, { data: Buffer.isBuffer(source) ? source : Buffer.from(source), mode: o.mode ?? 0o644, owner: o.owner ?? 'root:root' });
  }

  async close(): Promise<void> {}
}

const HTPASSWD = htpasswdLine('seeder', 'pw', 4);
const KEY = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg-not-a-real-key\n-----END PRIVATE KEY-----\n';
const opts = (over: Partial<InstallRegistryOptions> = {}): InstallRegistryOptions => ({
  binary: Buffer.from('#!/bin/sh\n# registry\n'),
  cert: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
  key: KEY,
  htpasswd: HTPASSWD,
  port: 5000,
  storageDir: '/var/lib/palisade/registry',
  timeoutSeconds: 2,
  ...over,
});

describe('installRegistry (check, act, verify)', () => {
  it('installs everything once, then does nothing on a re-run', async () => {
    const h = new ScriptedHost();
    const first = await installRegistry(h, opts());
    expect(first.changed.sort()).toEqual([
      '/etc/palisade/registry/config.yml',
      '/etc/palisade/registry/htpasswd',
      '/etc/palisade/registry/tls.crt',
      '/etc/palisade/registry/tls.key',
      '/etc/systemd/system/palisade-registry.service',
      '/usr/local/lib/palisade/registry',
    ]);
    expect(first.restarted).toBe(true);
    expect(h.reloads).toBe(1);
    expect(h.files.get('/etc/palisade/registry/tls.key')).toMatchObject({ mode: 0o640, owner: 'root:palisade-registry' });
    expect(first.url).toBe('https://10.231.0.10:5000');

    const again = await installRegistry(h, opts());
    expect(again.changed).toEqual([]);
    expect(again.restarted).toBe(false);
    expect(h.restarts).toBe(1);
    expect(h.reloads).toBe(1);
  });

  it('a new certificate uploads only the certificate and restarts; the http secret is kept', async () => {
    const h = new ScriptedHost();
    await installRegistry(h, opts());
    const secret = /secret: (.*)/.exec(h.files.get('/etc/palisade/registry/config.yml')?.data.toString() ?? '')?.[1];
    const r = await installRegistry(h, opts({ cert: '-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----\n' }));
    expect(r.changed).toEqual(['/etc/palisade/registry/tls.crt']);
    expect(r.restarted).toBe(true);
    expect(h.reloads).toBe(1);
    expect(/secret: (.*)/.exec(h.files.get('/etc/palisade/registry/config.yml')?.data.toString() ?? '')?.[1]).toBe(secret);
  });

  it('given credentials, keeps a matching htpasswd (no restart for a new salt) and replaces one for another password', async () => {
    const h = new ScriptedHost();
    h.exec = ((orig) => async (command: string, o?: ExecOptions) => {
      if (command.startsWith('cat /etc/palisade/registry/htpasswd'))
        return { code: 0, stdout: h.files.get('/etc/palisade/registry/htpasswd')?.data.toString() ?? '', stderr: '' };
      return orig(command, o);
    })(h.exec.bind(h));
    await installRegistry(h, opts({ htpasswd: { username: 'seeder', password: 'pw-1', cost: 4 } }));
    const again = await installRegistry(h, opts({ htpasswd: { username: 'seeder', password: 'pw-1', cost: 4 } }));
    expect(again.changed).toEqual([]);
    const changed = await installRegistry(h, opts({ htpasswd: { username: 'seeder', password: 'pw-2', cost: 4 } }));
    expect(changed.changed).toEqual(['/etc/palisade/registry/htpasswd']);
    expect(h.commands.some((c) => c.includes('pw-'))).toBe(false);
  });

  it('never puts the key, the password hash or the http secret on a command line', async () => {
    const h = new ScriptedHost();
    await installRegistry(h, opts());
    const secret = /secret: (.*)/.exec(h.files.get('/etc/palisade/registry/config.yml')?.data.toString() ?? '')?.[1] as string;
    const hash = HTPASSWD.split(':')[1]?.trim() as string;
    for (const c of h.commands) {
      expect(c).not.toContain('not-a-real-key');
      expect(c).not.toContain(hash);
      expect(c).not.toContain(secret);
    }
  });

  it('starts a stopped service even when no file changed, and reports a service that never comes up', async () => {
    const h = new ScriptedHost();
    await installRegistry(h, opts());
    h.active = false;
    const r = await installRegistry(h, opts());
    expect(r.restarted).toBe(true);
    const dead = new ScriptedHost();
    dead.exec = async (command: string) => {
      dead.commands.push(command);
      if (command.startsWith('systemctl is-active palisade-registry;')) return { code: 0, stdout: 'failed\n', stderr: '' };
      if (command.startsWith('journalctl'))
        return { code: 0, stdout: 'level=fatal msg="open /etc/palisade/registry/tls.key: permission denied"\n', stderr: '' };
      if (command.startsWith('for f in ')) return { code: 0, stdout: '', stderr: '' };
      return { code: 0, stdout: '', stderr: '' };
    };
    await expect(installRegistry(dead, opts())).rejects.toMatchObject({ code: 'registry.unhealthy', hint: expect.stringContaining('permission denied') });
  });
});
