/**
 * Hardening, OS patches and scans on real hosts (nspawn machines with OpenSSH), in a private
 * 2-host lab of this file (host1 controller, host2 worker): every test here changes hosts, and
 * the shared lab stays as the other files expect it. The tests run in order and share the lab.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../installer/config/load.ts';
import { runHarden, type HardenReport } from '../../installer/hardening/run.ts';
import type { Rule } from '../../installer/hardening/types.ts';
import type { LabInfo } from '../../scripts/lab.d/types.ts';
import { buildTestBundle, type TestBundle } from '../../scripts/bundle/build-test-bundle.ts';
import { buildTestDeb } from '../../scripts/bundle/os-packages.ts';
import type { PatchReport } from '../../installer/hardening/patch/run.ts';
import type { ScanResult } from '../../installer/scan/types.ts';
import type { ScanDiff } from '../../installer/scan/diff.ts';
import { cpSync } from 'node:fs';

const repo = resolve(import.meta.dirname, '../..');
const dir = join(repo, '.cache/labs', `hardening-${process.pid}`);
let lab: LabInfo;
let bundle: TestBundle;

function labCmd(args: string[]): void {
  const r = spawnSync(join(repo, 'scripts/lab'), args, { encoding: 'utf8', timeout: 15 * 60_000 });
  if (r.status !== 0) throw new Error(`scripts/lab ${args.join(' ')}: ${r.stderr}`);
}
function onHost(host: string, cmd: string): string {
  return execFileSync('ssh', ['-F', lab.sshConfigPath, host, cmd], { encoding: 'utf8', timeout: 120_000 });
}
function palisade(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(repo, 'installer/bin/palisade.js'), ...args, '-c', lab.configPath], {
    encoding: 'utf8',
    timeout: 600_000,
    env: { ...process.env, CI: '1' },
  });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}
function harden(extra: string[] = []): HardenReport {
  const r = palisade(['harden', '--output', 'json', ...extra]);
  try {
    return JSON.parse(r.stdout) as HardenReport;
  } catch {
    throw new Error(`palisade harden ${extra.join(' ')} exit ${r.code}: ${r.stderr}`);
  }
}
const by = (r: HardenReport, host: string, status: string) =>
  r.hosts
    .find((h) => h.host === host)!
    .outcomes.filter((o) => o.status === status)
    .map((o) => o.rule)
    .sort();
/** what a host's hardening touches, to tell "changed" from "unchanged" */
const snapshot = (host: string) =>
  onHost(
    host,
    'stat -c "%n %a %U:%G %Y" /etc/ssh/sshd_config /etc/ssh/sshd_config.d/* /etc/issue /etc/issue.net /etc/cron.d 2>/dev/null; sshd -T | sort | sha256sum',
  );

beforeAll(() => {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'owner.pid'), `${process.pid}\n`);
  labCmd(['up', '2', '--dir', dir]);
  lab = JSON.parse(readFileSync(join(dir, 'lab.json'), 'utf8')) as LabInfo;
}, 600_000);

/** the test bundle with an OS package set: palisade-patch-probe 1.1 (asks for a reboot, as kernel packages do) */
async function patchBundle(): Promise<TestBundle> {
  const work = join(dir, 'bundle-work');
  mkdirSync(join(work, 'debs'), { recursive: true });
  const deb = buildTestDeb(join(work, 'debs'), { name: 'palisade-patch-probe', version: '1.1', reboot: true });
  // the test vulnerability records, with a database built today (fresh)
  const vulndb = join(work, 'vulndb');
  cpSync(join(repo, 'test/fixtures/scan/vulndb'), vulndb, { recursive: true });
  writeFileSync(join(vulndb, 'metadata.json'), JSON.stringify({ built: new Date().toISOString(), source: 'palisade test records' }));
  return buildTestBundle({
    workDir: work,
    images: 1,
    layers: 1,
    layerSize: 64 << 10,
    executable: false,
    osPackages: [deb],
    extraDirs: [{ source: vulndb, dir: 'vulndb' }],
  });
}

afterAll(() => {
  spawnSync(join(repo, 'scripts/lab'), ['down', '--dir', dir], { timeout: 300_000 });
  rmSync(dir, { recursive: true, force: true });
}, 600_000);

describe('palisade harden', () => {
  it('a dry run on a fresh host says what it would fix and changes nothing', () => {
    const before = snapshot('host1');
    const r = harden(['--dry-run', '--host', 'host1']);
    expect(r.dryRun).toBe(true);
    expect(by(r, 'host1', 'would-fix')).toEqual(expect.arrayContaining(['ssh.max-auth-tries', 'ssh.macs', 'ssh.x11', 'banner.issue']));
    expect(r.hosts.map((h) => h.host)).toEqual(['host1']);
    expect(snapshot('host1')).toBe(before);
  });

  it('hardens fresh hosts: what it should changes, sysctls of a container are not applicable with why, palisade still logs in', () => {
    const r = harden();
    expect(r.ok, JSON.stringify(r.hosts.flatMap((h) => h.outcomes.filter((o) => o.status === 'failed')))).toBe(true);
    for (const h of ['host1', 'host2']) {
      expect(by(r, h, 'fixed')).toEqual(
        expect.arrayContaining(['ssh.max-auth-tries', 'ssh.login-grace', 'ssh.macs', 'ssh.x11', 'ssh.banner', 'ssh.client-alive', 'ssh.config-mode']),
      );
      expect(by(r, h, 'failed')).toEqual([]);
      const host = r.hosts.find((x) => x.host === h)!;
      expect(host.container).toBe('systemd-nspawn');
      expect(host.outcomes.find((o) => o.rule === 'sysctl.log-martians')).toMatchObject({
        status: 'not-applicable',
        detail: expect.stringMatching(/read-only in a systemd-nspawn container/),
      });
      expect(host.outcomes.find((o) => o.rule === 'sysctl.ip-forward')!.title).toMatch(/pod traffic/);
    }
    // the host's own sshd says so, and OpenSSH (not only palisade's client) still gets in with the key
    const t = onHost('host1', 'sshd -T');
    expect(t).toMatch(/^maxauthtries 3$/m);
    expect(t).toMatch(/^x11forwarding no$/m);
    expect(t).toMatch(/^banner \/etc\/issue\.net$/m);
    expect(t).not.toMatch(/^macs .*hmac-sha1/m);
    expect(onHost('host1', 'stat -c %a /etc/ssh/sshd_config').trim()).toBe('600');
    expect(onHost('host2', 'echo in').trim()).toBe('in');
    expect(palisade(['hosts', 'check']).code).toBe(0);
  });

  it('a second run changes nothing', () => {
    const before = ['host1', 'host2'].map(snapshot);
    const r = harden();
    expect(r.summary.fixed).toBe(0);
    expect(r.summary.failed).toBe(0);
    expect(r.hosts.every((h) => h.changes.length === 0)).toBe(true);
    expect(['host1', 'host2'].map(snapshot)).toEqual(before);
  });

  it('a planted sshd option that sshd -t refuses: palisade leaves sshd alone and says why', () => {
    onHost(
      'host2',
      "printf 'MaxAuthTries many\\n' > /etc/ssh/sshd_config.d/50-planted.conf; chmod 600 /etc/ssh/sshd_config.d/50-planted.conf; sed -i 's/^MaxAuthTries 3$/MaxAuthTries 5/' /etc/ssh/sshd_config.d/00-palisade-hardening.conf",
    );
    try {
      const before = snapshot('host2');
      const r = harden(['--host', 'host2']);
      const f = r.hosts[0]!.outcomes.find((o) => o.rule === 'ssh.max-auth-tries')!;
      expect(f.status).toBe('manual');
      expect(f.detail).toMatch(/sshd -t fails.*50-planted\.conf/);
      expect(snapshot('host2')).toBe(before);
      expect(onHost('host2', 'echo still in').trim()).toBe('still in');
    } finally {
      onHost('host2', 'rm -f /etc/ssh/sshd_config.d/50-planted.conf');
    }
    const again = harden(['--host', 'host2']);
    expect(again.hosts[0]!.outcomes.find((o) => o.rule === 'ssh.max-auth-tries')!.status).toBe('fixed');
  });

  it('a planted sshd option that locks palisade out after the reload is rolled back, and palisade still logs in', async () => {
    // a key exchange palisade's SSH client does not speak: sshd -t accepts it, a fresh login cannot
    const kexOnly: Rule = {
      id: 'planted.kex',
      title: 'planted',
      area: 'ssh',
      check: (s) =>
        s.sshd.kexalgorithms === 'sntrup761x25519-sha512@openssh.com'
          ? { status: 'pass', detail: 'set' }
          : { status: 'fail', detail: 'not set', fixes: [{ kind: 'sshd', directives: { KexAlgorithms: 'sntrup761x25519-sha512@openssh.com' } }] },
    };
    const { config, baseDir } = await loadConfig(lab.configPath);
    const before = snapshot('host1');
    const r = await runHarden({ config, baseDir, only: ['host1'], rules: [kexOnly] });
    expect(r.hosts[0]!.outcomes[0]).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(/fresh key login failed.*no matching key exchange.*restored and reloaded, a fresh login works again/),
    });
    expect(snapshot('host1')).toBe(before);
    expect(onHost('host1', 'sshd -T | grep ^kexalgorithms')).toMatch(/curve25519-sha256/);
    expect(palisade(['hosts', 'check']).code).toBe(0);
  });
});

describe('palisade patch', () => {
  beforeAll(async () => {
    bundle = await patchBundle();
    // every host has the old version, installed the way a site's image would have it
    const old = buildTestDeb(dir, { name: 'palisade-patch-probe', version: '1.0' });
    for (const h of ['host1', 'host2']) {
      execFileSync('scp', ['-q', '-F', lab.sshConfigPath, old, `${h}:/tmp/old.deb`], { timeout: 60_000 });
      onHost(h, 'dpkg -i /tmp/old.deb >/dev/null && rm -f /tmp/old.deb /run/reboot-required /run/reboot-required.pkgs');
    }
  }, 600_000);

  const patch = (extra: string[] = []): PatchReport => {
    const r = palisade(['patch', '--bundle', bundle.path, '--trusted-key', bundle.publicKeyPath, '--output', 'json', ...extra]);
    try {
      return JSON.parse(r.stdout) as PatchReport;
    } catch {
      throw new Error(`palisade patch exit ${r.code}: ${r.stderr}`);
    }
  };

  it('upgrades the package on every host offline, says which hosts need a reboot, and reboots none', () => {
    const boot = ['host1', 'host2'].map((h) => onHost(h, 'cat /proc/sys/kernel/random/boot_id').trim());
    const dry = patch(['--dry-run']);
    expect(dry.hosts.map((h) => h.planned)).toEqual([
      [{ name: 'palisade-patch-probe', from: '1.0', to: '1.1' }],
      [{ name: 'palisade-patch-probe', from: '1.0', to: '1.1' }],
    ]);
    expect(onHost('host1', 'cat /usr/share/palisade-patch-probe/VERSION').trim()).toBe('1.0');
    const r = patch();
    expect(r.ok).toBe(true);
    for (const h of r.hosts) {
      expect(h.changed).toEqual([{ name: 'palisade-patch-probe', from: '1.0', to: '1.1' }]);
      expect(h).toMatchObject({ rebootNeeded: true, rebootReason: 'palisade-patch-probe' });
      expect(onHost(h.host, "cat /usr/share/palisade-patch-probe/VERSION; dpkg-query -W -f='${Version}' palisade-patch-probe")).toBe('1.1\n1.1');
    }
    expect(r.reboot).toMatchObject({
      hosts: ['host1', 'host2'],
      window: 'none',
      note: expect.stringMatching(/not rebooted; palisade\.yaml has no maintenance window/),
    });
    expect(['host1', 'host2'].map((h) => onHost(h, 'cat /proc/sys/kernel/random/boot_id').trim())).toEqual(boot);
    // nothing left behind in the staging directory
    expect(onHost('host1', 'ls -A /var/cache/palisade/patches').trim()).toBe('');
  });

  it('a second run installs nothing and still says the reboot is pending', () => {
    const r = patch();
    expect(r.hosts.map((h) => [h.changed.length, h.current.map((c) => c.installed)])).toEqual([
      [0, ['1.1']],
      [0, ['1.1']],
    ]);
    expect(r.reboot.hosts).toEqual(['host1', 'host2']);
  });
  it('--reboot without a maintenance window in palisade.yaml reboots nothing and says why (a lab host that reboots stops: nspawn does not restart it)', () => {
    const boot = onHost('host1', 'cat /proc/sys/kernel/random/boot_id');
    const r = palisade(['patch', '--bundle', bundle.path, '--trusted-key', bundle.publicKeyPath, '--reboot']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/reboot needed on host1, host2, but palisade\.yaml has no maintenance window/);
    expect(r.stderr).toMatch(/--ignore-window --yes/);
    expect(onHost('host1', 'cat /proc/sys/kernel/random/boot_id')).toBe(boot);
    expect(palisade(['patch', '--bundle', bundle.path, '--trusted-key', bundle.publicKeyPath, '--ignore-window']).stderr).toMatch(
      /--wait-for-window and --ignore-window go with --reboot/,
    );
  });
});

describe('palisade scan', () => {
  const run = (type: string, extra: string[] = []): ScanResult & { path: string } => {
    const r = palisade(['scan', 'run', '--type', type, '--output', 'json', ...extra]);
    try {
      return JSON.parse(r.stdout) as ScanResult & { path: string };
    } catch {
      throw new Error(`palisade scan run --type ${type} exit ${r.code}: ${r.stderr}`);
    }
  };
  const withBundle = () => ['--bundle', bundle.path, '--trusted-key', bundle.publicKeyPath];

  it('compliance: the hardened hosts pass the rules; no cluster is installed here, and that fails by name', () => {
    const r = run('compliance');
    expect(r.findings.filter((f) => f.status === 'fail' && f.host !== 'host1').map((f) => f.check)).toEqual([]);
    expect(r.findings.find((f) => f.host === 'host1' && f.check === 'k8s.config')).toMatchObject({ status: 'fail' });
    expect(r.findings.find((f) => f.host === 'host2' && f.check === 'ssh.max-auth-tries')?.status).toBe('pass');
    expect(r.versions.rules).toMatch(/^\d{4}\.\d+\.\d+$/);
  });

  it('security: the patched package is no longer vulnerable, the database is fresh, and a planted world-writable file shows in scan diff as new', () => {
    const a = run('security', withBundle());
    expect(a.versions.vulndb).toMatchObject({ stale: false, records: 3 });
    expect(a.findings.filter((f) => f.check.startsWith('vuln.PALISADE'))).toEqual([]);
    expect(a.findings.some((f) => f.check === 'port.tcp.0.0.0.0:22' && f.status === 'pass')).toBe(true);
    onHost('host2', 'touch /etc/planted-ww && chmod 0666 /etc/planted-ww');
    try {
      const b = run('security', withBundle());
      const d = JSON.parse(palisade(['scan', 'diff', a.id, b.id, '--output', 'json']).stdout) as ScanDiff;
      expect(d.newlyFailing.map((f) => `${f.host} ${f.check}`)).toEqual(['host2 world-writable./etc/planted-ww']);
      expect(d.fixed).toEqual([]);
      const list = palisade(['scan', 'list']).stdout;
      expect(list).toContain(a.id);
      expect(list).toContain(b.id);
      // a stale database is said to be stale
      const stale = run('security', [...withBundle(), '--max-db-age', '0']);
      expect(stale.versions.vulndb?.ageDays).toBe(0);
    } finally {
      onHost('host2', 'rm -f /etc/planted-ww');
    }
  });

  it('sbom: a CycloneDX document per host and one for the registry contents', () => {
    const r = run('sbom', withBundle());
    expect(Object.keys(r.documents ?? {}).sort()).toEqual(['host1', 'host2', 'registry']);
    const host = r.documents!.host1 as { bomFormat: string; components: Array<{ name: string; version: string }> };
    expect(host.bomFormat).toBe('CycloneDX');
    expect(host.components.find((c) => c.name === 'palisade-patch-probe')?.version).toBe('1.1');
    expect((r.documents!.registry as { components: unknown[] }).components.length).toBeGreaterThan(0);
  });

  it('conformance runs against the cluster API, and says when no controller answers (no cluster in this lab)', () => {
    const r = run('conformance');
    expect(r.findings).toEqual([expect.objectContaining({ check: 'api.reachable', status: 'fail' })]);
  });
});
