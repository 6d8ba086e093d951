import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { loadConfig, type LoadedConfig } from '../../installer/config/load.ts';
import type { EncryptionConfig, PalisadeConfig } from '../../installer/config/schema.ts';
import { PalisadeError } from '../../installer/core/errors.ts';
import { sh } from '../../installer/core/quote.ts';
import { applyEncryption, encryptionStatus, type ApplyEvent } from '../../installer/encryption/index.ts';
import { advertisementSigningKeys, jwkThumbprint } from '../../installer/encryption/jwk.ts';
import { parseLuksDump } from '../../installer/encryption/luks.ts';
import type { Binding, EscrowStore } from '../../installer/encryption/types.ts';
import { closeAll, connectHosts } from '../../installer/hosts/index.ts';
import type { RemoteHost } from '../../installer/hosts/types.ts';
import { openKeystore } from '../../installer/keystore/index.ts';
import { keyOpens, luksJson, MemoryEscrow, pinOpens, probe, resetDisk, startPsSampler, TangProxy } from '../fixtures/encryption/lab-helpers.ts';
import { getLab } from './lab.ts';

/**
 * Disk encryption on the lab hosts: real cryptsetup, clevis, tangd (two, in
 * the services namespace) and swtpm. Device-mapper is absent, so volumes are
 * formatted, bound and verified (luksDump, clevis luks pass + cryptsetup open
 * --test-passphrase), never opened: "bound, not opened".
 *
 * The lab is shared by every test file of a run: each test blanks the data
 * disk of the host it uses first, and the file blanks them all at the end.
 */
const run = promisify(execFile);
const lab = getLab();
const repo = resolve(import.meta.dirname, '../..');
const DISK = '/dev/vdb';
const USED = ['host1', 'host2', 'host3', 'host4', 'host5'];

let loaded: LoadedConfig;
let hosts: Map<string, RemoteHost>;
let proxy: TangProxy;
const tang0 = lab.services.tang[0]!;
const tang1 = lab.services.tang[1]!;

const host = (name: string): RemoteHost => hosts.get(name)!;

/** The lab config with these encryption settings, at a low PBKDF cost (tests, not security). */
function config(over: Partial<EncryptionConfig>): PalisadeConfig {
  return {
    ...loaded.config,
    encryption: { ...loaded.config.encryption, allowUnopened: true, wipe: false, pbkdfMemoryKiB: 32, pbkdfIterations: 4, ...over },
  };
}

async function apply(names: string[], over: Partial<EncryptionConfig>, ks: EscrowStore, events?: ApplyEvent[]) {
  return applyEncryption({ config: config(over), hosts: names.map(host), keystore: ks, ...(events ? { onProgress: (e) => void events.push(e) } : {}) });
}

/** Every host of the report succeeded (on failure the assertion shows each error's code and message). */
function expectOk(r: Awaited<ReturnType<typeof apply>>): void {
  expect(r.hosts.map((h) => (h.error ? `${h.host}: [${h.error.code}] ${h.error.message}` : `${h.host}: ok`))).toEqual(r.hosts.map((h) => `${h.host}: ok`));
}

/** The clevis tokens on the disk, as palisade reads them (binding + key slots). */
async function tokens(h: RemoteHost): Promise<Array<{ keyslots: number[]; binding: Binding }>> {
  const r = await h.exec(sh`cryptsetup luksDump --dump-json-metadata ${DISK}`, { sudo: true, check: true });
  return parseLuksDump(r.stdout).tokens.map((t) => ({ keyslots: t.keyslots, binding: t.binding }));
}

beforeAll(async () => {
  loaded = await loadConfig(lab.configPath);
  const c = await connectHosts(loaded.config, loaded.baseDir, { only: USED });
  expect(c.failures).toEqual([]);
  hosts = c.hosts;
  const u = new URL(tang0.url);
  proxy = new TangProxy(lab.gateway, { host: u.hostname, port: Number(u.port) });
  await proxy.up();
});

afterAll(async () => {
  await proxy?.stop();
  if (hosts) {
    await Promise.all(USED.map((n) => (hosts.get(n) ? resetDisk(host(n)) : undefined)));
    await closeAll(hosts);
  }
});

describe('disk encryption on lab hosts', () => {
  it('tang: a blank disk is escrowed, formatted, bound and verified; no key on any command line; a re-run changes nothing', async () => {
    const h = host('host2');
    await resetDisk(h);
    const ks = new MemoryEscrow();
    const events: ApplyEvent[] = [];
    const ps = await startPsSampler(h);
    const report = await apply(['host2'], { mode: 'tang', tang: [tang0] }, ks, events);
    const psLog = await ps.stop();

    expectOk(report);
    expect(report.ok).toBe(true);
    const d = report.hosts[0]!.disks[0]!;
    expect(d).toMatchObject({ device: DISK, action: 'format', outcome: 'formatted', state: 'bound, not opened' });
    expect(d.verification).toMatchObject({ ok: true, luks2: true, bindingAsConfigured: true, recoveryKey: 'ok', problems: [] });
    expect(d.verification.pins).toHaveLength(1);
    expect(d.verification.pins[0]!.ok).toBe(true);

    const entry = ks.get('luks-recovery/host2/vdb')!;
    const steps = events.filter((e) => e.device === DISK).map((e) => e.step);
    expect(steps.indexOf('escrowed')).toBeLessThan(steps.indexOf('formatted'));
    expect(await keyOpens(h, entry.value)).toBe(true);
    expect(await keyOpens(h, `${entry.value}x`)).toBe(false);

    const blk = await probe(h);
    expect(blk).toMatchObject({ TYPE: 'crypto_LUKS', VERSION: '2', SUBSYSTEM: 'palisade', UUID: entry.meta!.uuid! });
    const t = await tokens(h);
    expect(t).toHaveLength(1);
    expect(t[0]!.binding).toMatchObject({ pin: 'tang', url: tang0.url.replace(/\/$/, '') });
    expect((await h.exec(sh`clevis luks list -d ${DISK}`, { sudo: true })).stdout).toContain(`tang '{"url":"${tang0.url.replace(/\/$/, '')}"`);
    expect(await pinOpens(h, t[0]!.keyslots[0]!)).toBe(true);
    expect((await h.exec('cat /etc/crypttab', { sudo: true })).stdout).toContain(`palisade-vdb UUID=${entry.meta!.uuid} none luks,_netdev,noauto`);

    // the sampler saw the tools run, never the key
    expect(psLog).toMatch(/clevis|cryptsetup/);
    expect(psLog).not.toContain(entry.value);

    // re-run: nothing to do, nothing touched
    const before = await luksJson(h);
    const saves = ks.saves;
    const again: ApplyEvent[] = [];
    const second = await apply(['host2'], { mode: 'tang', tang: [tang0] }, ks, again);
    expect(second.ok).toBe(true);
    expect(second.hosts[0]!.disks[0]).toMatchObject({ action: 'nothing', outcome: 'unchanged', state: 'bound, not opened' });
    expect(again.map((e) => e.step).filter((s) => s !== 'facts' && s !== 'verified')).toEqual([]);
    expect(ks.saves).toBe(saves);
    expect(await luksJson(h)).toEqual(before);

    // status: verified, "bound, not opened" (no device-mapper on the lab hosts)
    const status = await encryptionStatus({ config: config({ mode: 'tang', tang: [tang0] }), hosts: [h], keystore: ks });
    expect(status.ok).toBe(true);
    expect(status.hosts[0]!.disks[0]).toMatchObject({ state: 'bound, not opened', pending: 'nothing', ok: true });
    expect(status.hosts[0]!.disks[0]!.verification).toMatchObject({ recoveryKey: 'ok', ok: true });
  });

  it('tpm2: bound to the swtpm with the configured PCRs; the TPM alone releases the key', async () => {
    const h = host('host3');
    await resetDisk(h);
    const ks = new MemoryEscrow();
    const report = await apply(['host3'], { mode: 'tpm2', tpm2: { pcrs: [7] } }, ks);
    expectOk(report);
    expect(report.hosts[0]!.disks[0]).toMatchObject({ outcome: 'formatted', state: 'bound, not opened', verification: { ok: true, recoveryKey: 'ok' } });
    const t = await tokens(h);
    expect(t.map((x) => x.binding)).toEqual([{ pin: 'tpm2', pcrs: [7] }]);
    expect(await pinOpens(h, t[0]!.keyslots[0]!)).toBe(true);
    expect(await keyOpens(h, ks.get('luks-recovery/host3/vdb')!.value)).toBe(true);
    // tang is not involved: no _netdev
    expect((await h.exec('cat /etc/crypttab', { sudo: true })).stdout).toMatch(/^palisade-vdb UUID=\S+ none luks,noauto$/m);
  });

  it('tpm2+tang: 2 of 2 needs Tang; rebound to 1 of 2 the TPM alone opens it while Tang is down', async () => {
    const h = host('host2');
    await resetDisk(h);
    await proxy.up();
    const ks = new MemoryEscrow();
    const viaProxy = [{ url: proxy.url, thumbprint: tang0.thumbprint }];
    const r1 = await apply(['host2'], { mode: 'tpm2+tang', tang: viaProxy, threshold: 2 }, ks);
    expectOk(r1);
    expect(r1.hosts[0]!.disks[0]).toMatchObject({ outcome: 'formatted', verification: { ok: true } });
    let t = await tokens(h);
    expect(t).toHaveLength(1);
    expect(t[0]!.binding).toMatchObject({
      pin: 'sss',
      threshold: 2,
      pins: [
        { pin: 'tang', url: proxy.url },
        { pin: 'tpm2', pcrs: [7] },
      ],
    });
    const slot2of2 = t[0]!.keyslots[0]!;
    expect(await pinOpens(h, slot2of2)).toBe(true);

    await proxy.down();
    expect(await pinOpens(h, slot2of2)).toBe(false);
    const down = await encryptionStatus({ config: config({ mode: 'tpm2+tang', tang: viaProxy, threshold: 2 }), hosts: [h], keystore: ks });
    expect(down.ok).toBe(false);
    expect(down.hosts[0]!.problems.join('\n')).toMatch(/unreachable/);
    expect(down.hosts[0]!.disks[0]!.verification!.pins[0]!.ok).toBe(false);

    await proxy.up();
    const r2 = await apply(['host2'], { mode: 'tpm2+tang', tang: viaProxy, threshold: 1 }, ks);
    expectOk(r2);
    expect(r2.hosts[0]!.disks[0]).toMatchObject({ action: 'rebind', outcome: 'rebound', verification: { ok: true, recoveryKey: 'ok' } });
    t = await tokens(h);
    expect(t).toHaveLength(1);
    expect(t[0]!.binding).toMatchObject({ pin: 'sss', threshold: 1 });
    const slot1of2 = t[0]!.keyslots[0]!;
    expect(slot1of2).not.toBe(slot2of2);

    await proxy.down();
    expect(await pinOpens(h, slot1of2)).toBe(true);
    expect(await keyOpens(h, ks.get('luks-recovery/host2/vdb')!.value)).toBe(true);
    await proxy.up();

    // the sss binding read back from the header matches the config: a re-run does nothing
    const r3 = await apply(['host2'], { mode: 'tpm2+tang', tang: viaProxy, threshold: 1 }, ks);
    expectOk(r3);
    expect(r3.hosts[0]!.disks[0]).toMatchObject({ action: 'nothing', outcome: 'unchanged' });
    expect((await tokens(h))[0]!.keyslots).toEqual([slot1of2]);
  });

  it('passphrase mode: no clevis binding, the escrowed recovery key is the only key', async () => {
    const h = host('host4');
    await resetDisk(h);
    const ks = new MemoryEscrow();
    const r = await apply(['host4'], { mode: 'passphrase' }, ks);
    expectOk(r);
    expect(r.hosts[0]!.disks[0]).toMatchObject({ outcome: 'formatted', state: 'bound, not opened', verification: { ok: true, recoveryKey: 'ok', pins: [] } });
    expect(await tokens(h)).toEqual([]);
    expect(Object.keys((await luksJson(h))!.keyslots)).toEqual(['0']);
    expect(await keyOpens(h, ks.get('luks-recovery/host4/vdb')!.value)).toBe(true);
  });

  it('a wrong thumbprint is refused before the disk is touched', async () => {
    const h = host('host2');
    await resetDisk(h);
    const ks = new MemoryEscrow();
    const r = await apply(['host2'], { mode: 'tang', tang: [{ url: tang0.url, thumbprint: tang1.thumbprint }] }, ks);
    expect(r.ok).toBe(false);
    expect(r.hosts[0]!.error?.code).toBe('encryption.tang-thumbprint');
    expect(r.hosts[0]!.error?.message).toContain(tang1.thumbprint);
    expect(r.hosts[0]!.error?.message).toMatch(/no disk on this host was changed/);
    expect(await probe(h)).toEqual({});
    expect(ks.entries.size).toBe(0);
  });

  it('an ext4 disk is refused without wipe (nothing changed) and formatted with it', async () => {
    const h = host('host3');
    await resetDisk(h);
    await h.exec(sh`mkfs.ext4 -q -L appdata ${DISK}`, { sudo: true, check: true });
    const ks = new MemoryEscrow();
    const err = await apply(['host3'], { mode: 'tang', tang: [tang0] }, ks).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PalisadeError);
    expect((err as PalisadeError).code).toBe('encryption.refused');
    expect((err as PalisadeError).details).toEqual([
      {
        path: 'host3:/dev/vdb',
        message: expect.stringMatching(/^\/dev\/vdb holds an ext4 filesystem uuid \S+ label "appdata"; set encryption\.wipe: true to format it/),
      },
    ]);
    expect(await probe(h)).toMatchObject({ TYPE: 'ext4', LABEL: 'appdata' });
    expect(ks.entries.size).toBe(0);

    const r = await apply(['host3'], { mode: 'tang', tang: [tang0], wipe: true }, ks);
    expectOk(r);
    expect(r.plan.hosts[0]!.disks[0]!.wipes.join(' ')).toMatch(/ext4/);
    expect(r.hosts[0]!.disks[0]).toMatchObject({ outcome: 'formatted', verification: { ok: true, recoveryKey: 'ok' } });
    expect(await probe(h)).toMatchObject({ TYPE: 'crypto_LUKS', SUBSYSTEM: 'palisade' });
  });

  it('Tang down: before apply nothing changes; Tang dying between the check and the bind leaves a disk the next run completes', async () => {
    const h = host('host2');
    await resetDisk(h);
    const ks = new MemoryEscrow();
    const viaProxy = { mode: 'tang' as const, tang: [{ url: proxy.url, thumbprint: tang0.thumbprint }] };

    await proxy.down();
    const r1 = await apply(['host2'], viaProxy, ks);
    expect(r1.hosts[0]!.error?.code).toBe('encryption.tang-unreachable');
    expect(r1.hosts[0]!.error?.message).toMatch(
      new RegExp(`cannot reach the Tang server ${proxy.url.replace(/\./g, '\\.')}.*no disk on this host was changed`),
    );
    expect(await probe(h)).toEqual({});
    expect(ks.entries.size).toBe(0);

    // Tang answers palisade's check, then is gone when clevis fetches the advertisement
    await proxy.up();
    proxy.allow(1);
    const r2 = await apply(['host2'], viaProxy, ks);
    expect(r2.hosts[0]!.error?.code).toBe('encryption.tang-unreachable');
    expect(r2.hosts[0]!.error?.hint).toMatch(/recovery key is in the keystore .*next run only binds/);
    const key = ks.get('luks-recovery/host2/vdb')!.value;
    expect(await probe(h)).toMatchObject({ TYPE: 'crypto_LUKS', SUBSYSTEM: 'palisade' });
    expect(await tokens(h)).toEqual([]);
    expect(await keyOpens(h, key)).toBe(true);

    await proxy.up();
    const r3 = await apply(['host2'], viaProxy, ks);
    expectOk(r3);
    expect(r3.hosts[0]!.disks[0]).toMatchObject({ action: 'rebind', outcome: 'rebound', verification: { ok: true, recoveryKey: 'ok' } });
    expect(await tokens(h)).toHaveLength(1);
    expect(ks.get('luks-recovery/host2/vdb')!.value).toBe(key);
  });

  it('after a Tang key rotation: status flags the pinned key, apply with the new thumbprint rebinds', async () => {
    const h = host('host3');
    await resetDisk(h);
    const ks = new MemoryEscrow();
    const r1 = await apply(['host3'], { mode: 'tang', tang: [tang1] }, ks);
    expectOk(r1);
    const oldSlot = (await tokens(h))[0]!.keyslots[0]!;

    const db = join(lab.dir, 'services', 'tang1');
    const original = readdirSync(db);
    try {
      await run('ip', ['netns', 'exec', lab.services.netns, '/usr/libexec/tangd-rotate-keys', '-d', db]);
      const adv = await (await fetch(`${tang1.url.replace(/\/$/, '')}/adv`)).text();
      const rotated = advertisementSigningKeys(adv).map((k) => jwkThumbprint(k));
      expect(rotated).not.toContain(tang1.thumbprint);
      const fresh = rotated[0]!;

      const status = await encryptionStatus({ config: config({ mode: 'tang', tang: [tang1] }), hosts: [h], keystore: ks });
      expect(status.ok).toBe(false);
      expect(status.hosts[0]!.problems.join('\n')).toMatch(/no longer advertises the pinned key/);
      // tangd keeps serving rotated keys: the old binding still unlocks
      expect(status.hosts[0]!.disks[0]!.verification!.pins.every((p) => p.ok)).toBe(true);

      const r2 = await apply(['host3'], { mode: 'tang', tang: [{ url: tang1.url, thumbprint: fresh }] }, ks);
      expectOk(r2);
      expect(r2.hosts[0]!.disks[0]).toMatchObject({ action: 'rebind', outcome: 'rebound', verification: { ok: true, recoveryKey: 'ok' } });
      const t = await tokens(h);
      expect(t).toHaveLength(1);
      expect(t[0]!.keyslots).not.toContain(oldSlot);
      expect((t[0]!.binding as Extract<Binding, { pin: 'tang' }>).thumbprints).toContain(fresh);
      const after = await encryptionStatus({ config: config({ mode: 'tang', tang: [{ url: tang1.url, thumbprint: fresh }] }), hosts: [h], keystore: ks });
      expect(after.hosts[0]!.problems).toEqual([]);
      expect(after.ok).toBe(true);
    } finally {
      // give the shared lab its Tang keys back: drop the new ones, un-hide the originals
      for (const f of readdirSync(db)) {
        if (original.includes(f)) continue;
        if (f.startsWith('.') && original.includes(f.slice(1))) renameSync(join(db, f), join(db, f.slice(1)));
        else rmSync(join(db, f));
      }
    }
    const adv = await (await fetch(`${tang1.url.replace(/\/$/, '')}/adv`)).text();
    expect(advertisementSigningKeys(adv).map((k) => jwkThumbprint(k))).toContain(tang1.thumbprint);
  });

  it('a TPM that does not answer: clear error, disk unchanged', async () => {
    const h = host('host3');
    await resetDisk(h);
    const env = (await h.exec('cat /etc/environment', { sudo: true, check: true })).stdout;
    expect(env).toMatch(/TPM2TOOLS_TCTI=/);
    let fresh: Map<string, RemoteHost> | undefined;
    try {
      // point the TCTI at a port nothing listens on; a new session reads it (pam_env)
      await h.exec(sh`sed -i 's/^\\(TPM2TOOLS_TCTI=.*port=\\)[0-9]*/\\19/' /etc/environment`, { sudo: true, check: true });
      fresh = (await connectHosts(loaded.config, loaded.baseDir, { only: ['host3'] })).hosts;
      const ks = new MemoryEscrow();
      const r = await applyEncryption({ config: config({ mode: 'tpm2' }), hosts: [fresh.get('host3')!], keystore: ks });
      expect(r.hosts[0]!.error?.code).toBe('encryption.tpm');
      expect(r.hosts[0]!.error?.message).toMatch(/TPM did not seal and unseal .*no disk on this host was changed/);
      expect(await probe(h)).toEqual({});
      expect(ks.entries.size).toBe(0);
    } finally {
      await h.upload(Buffer.from(env), '/etc/environment', { mode: 0o644, sudo: true });
      if (fresh) await closeAll(fresh);
    }
  });
});

describe('palisade encryption plan | apply | status (the CLI, three hosts)', () => {
  // host5 is reached through the jump host (host1)
  const names = ['host1', 'host3', 'host5'];
  const passphrase = `lab-passphrase-${process.pid}`;
  let dir: string;
  let cfgPath: string;
  let ksPath: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'palisade-enc-cli-'));
    ksPath = join(dir, 'keystore.json');
    // the lab's config with relative paths made absolute, and a low PBKDF cost
    const doc = parseDocument(readFileSync(lab.configPath, 'utf8'));
    const abs = (p: unknown) => (typeof p === 'string' ? resolve(lab.dir, p) : p);
    for (const hs of (doc.get('hosts') as { items: Array<{ get(k: string): unknown; set(k: string, v: unknown): void }> }).items) {
      if (hs.get('privateKey') !== undefined) hs.set('privateKey', abs(hs.get('privateKey')));
    }
    if (doc.hasIn(['jumpHost', 'privateKey'])) doc.setIn(['jumpHost', 'privateKey'], abs(doc.getIn(['jumpHost', 'privateKey'])));
    if (doc.hasIn(['ssh', 'knownHosts'])) doc.setIn(['ssh', 'knownHosts'], abs(doc.getIn(['ssh', 'knownHosts'])));
    doc.setIn(['encryption', 'pbkdfMemoryKiB'], 32);
    doc.setIn(['encryption', 'pbkdfIterations'], 4);
    doc.setIn(['encryption', 'mode'], 'tang');
    cfgPath = join(dir, 'palisade.yaml');
    writeFileSync(cfgPath, doc.toString());
    // the same with the second Tang server's thumbprint pinned for the first one
    doc.setIn(['encryption', 'tang'], doc.createNode([{ url: tang0.url, thumbprint: tang1.thumbprint }]));
    writeFileSync(join(dir, 'wrong-thumbprint.yaml'), doc.toString());
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function cli(args: string[], cfg = cfgPath): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const r = await run('node', [join(repo, 'installer/bin/palisade.js'), ...args, '-c', cfg, '--keystore', ksPath, '--host', names.join(',')], {
        env: { ...process.env, PALISADE_PASSPHRASE: passphrase, CI: '1' },
        timeout: 300_000,
        maxBuffer: 16 << 20,
      });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (e) {
      const x = e as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof x.code === 'number' ? x.code : -1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
    }
  }

  it('plan shows the formats, apply refuses them without --yes, then encrypts three hosts in parallel (one behind the jump host); status and the keystore prove it', async () => {
    await Promise.all(names.map((n) => resetDisk(host(n))));

    const plan = await cli(['encryption', 'plan']);
    expect(plan.stderr).toBe('');
    expect(plan.code).toBe(0);
    for (const n of names) expect(plan.stdout).toMatch(new RegExp(`^${n}\\s+/dev/vdb\\s+format\\s+blank`, 'm'));

    // plan asks each host's Tang server now: a wrong pinned key shows before apply
    const wrong = await cli(['encryption', 'plan'], join(dir, 'wrong-thumbprint.yaml'));
    expect(wrong.code).toBe(1);
    for (const n of names)
      expect(wrong.stdout).toMatch(new RegExp(`^${n}: PIN PROBLEM: \\[encryption\\.tang-thumbprint\\] .*not the pinned thumbprint ${tang1.thumbprint}`, 'm'));

    const refused = await cli(['encryption', 'apply']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/error \[encryption\.confirm\]: apply would format 3 disk\(s\)/);
    expect(refused.stderr).toMatch(/re-run with --yes/);
    for (const n of names) expect(await probe(host(n))).toEqual({});
    expect(() => statSync(ksPath)).toThrow();

    const applied = await cli(['encryption', 'apply', '--yes', '-v']);
    expect(applied.stderr).not.toMatch(/error/i);
    expect(applied.code).toBe(0);
    for (const n of names) {
      expect(applied.stdout).toMatch(new RegExp(`^${n}\\s+/dev/vdb\\s+formatted\\s+bound, not opened\\s+ok:`, 'm'));
      expect(applied.stderr).toContain(`${n} /dev/vdb: recovery key stored in the keystore (luks-recovery/${n}/vdb)`);
    }
    expect(statSync(ksPath).mode & 0o777).toBe(0o600);

    // the recovery key from the keystore opens every disk; no key in any output
    const ks = await openKeystore(ksPath, { passphrase });
    for (const n of names) {
      const e = ks.get(`luks-recovery/${n}/vdb`)!;
      expect(e.meta?.uuid).toBe((await probe(host(n))).UUID);
      expect(await keyOpens(host(n), e.value)).toBe(true);
      expect(applied.stdout + applied.stderr + plan.stdout + refused.stderr).not.toContain(e.value);
    }

    const status = await cli(['encryption', 'status', '--output', 'json']);
    expect(status.code).toBe(0);
    const s = JSON.parse(status.stdout) as {
      ok: boolean;
      keystoreChecked: boolean;
      hosts: Array<{ host: string; disks: Array<{ state: string; verification: { recoveryKey: string } }> }>;
    };
    expect(s.ok).toBe(true);
    expect(s.keystoreChecked).toBe(true);
    expect(s.hosts.map((x) => [x.host, x.disks[0]?.state, x.disks[0]?.verification.recoveryKey])).toEqual(names.map((n) => [n, 'bound, not opened', 'ok']));

    const again = await cli(['encryption', 'plan', '--output', 'json']);
    expect(again.code).toBe(0);
    const p = JSON.parse(again.stdout) as { work: boolean; hosts: Array<{ disks: Array<{ action: string }> }> };
    expect(p.work).toBe(false);
    expect(p.hosts.flatMap((x) => x.disks.map((d) => d.action))).toEqual(['nothing', 'nothing', 'nothing']);
  });
});
