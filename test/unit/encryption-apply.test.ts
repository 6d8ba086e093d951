import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../installer/config/schema.ts';
import { PalisadeError } from '../../installer/core/errors.ts';
import type { ExecOptions, ExecResult, RemoteHost, UploadOptions } from '../../installer/hosts/types.ts';
import { applyEncryption, pinProblems } from '../../installer/encryption/apply.ts';
import { parseEncryptionFacts } from '../../installer/encryption/facts.ts';
import { planEncryption } from '../../installer/encryption/plan.ts';
import { plainProgress } from '../../installer/encryption/progress.ts';
import type { EscrowEntry, EscrowStore } from '../../installer/encryption/types.ts';

/**
 * applyEncryption against a scripted host: the order of operations and what
 * travels where. The real tools run in the lab tests.
 */
const generated = new Map<string, string>();
const fx = (name: string) => generated.get(name) ?? readFileSync(join(import.meta.dirname, '../fixtures/encryption', name), 'utf8');

/** ours-tang with the same tang binding twice (slots 1 and 2): what a second bind on top of an interrupted one leaves */
function tangTwice(): string {
  const text = fx('ours-tang.facts.txt');
  const m = /(@@palisade-enc luksdump 0\n)([\s\S]*?)(\n@@palisade-enc clevis 0\n)([\s\S]*?)(\n\n@@palisade-enc end)/.exec(text)!;
  const dump = JSON.parse(m[2]!) as {
    keyslots: Record<string, unknown>;
    tokens: Record<string, { keyslots: string[] }>;
    digests: Record<string, { keyslots: string[] }>;
  };
  dump.keyslots['2'] = dump.keyslots['1'];
  dump.tokens['1'] = { ...dump.tokens['0']!, keyslots: ['2'] };
  dump.digests['0']!.keyslots.push('2');
  const clevis = `${m[4]!}\n${m[4]!.replace(/^1:/, '2:')}`;
  return text.replace(m[0], `${m[1]}${JSON.stringify(dump, null, 2)}${m[3]}${clevis}${m[5]}`);
}
generated.set('ours-tang-twice.facts.txt', tangTwice());
const THP_A = fx('tang-adv-a.thumbprint').trim();
const TANG_URL = 'http://127.0.0.1:7598';

function section(text: string, name: string): string {
  const m = new RegExp(`@@palisade-enc ${name} 0\\n([\\s\\S]*?)\\n@@palisade-enc`).exec(text);
  return m?.[1]?.trim() ?? '';
}

interface Call {
  cmd: string;
  stdin: string | undefined;
  keystoreEntries: number;
}

class ScriptedHost implements RemoteHost {
  readonly name = 'h1';
  readonly address = '10.231.0.10';
  calls: Call[] = [];
  uploads: Array<{ path: string; data: string; opts: UploadOptions | undefined }> = [];
  state: string;
  tangDown = false;
  bindFails = false;
  /** a bind left running by a killed run: it finishes (state gets the binding) at this command of ours */
  leftoverBindFinishesAt: RegExp | undefined;
  /** ... but only once this run has bound the disk itself */
  leftoverAfterOurBind = false;
  /** the leftover bind holds the device's bind lock (flock): a command taking that lock waits for it to finish */
  leftoverHoldsLock = false;
  formatSignals = 0;
  formattedUuid: string | undefined;
  constructor(
    initial: string,
    private readonly ks: MemoryKeystore,
  ) {
    this.state = initial;
  }
  async exec(cmd: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const stdin = opts.stdin === undefined ? undefined : String(opts.stdin);
    this.calls.push({ cmd, stdin, keystoreEntries: this.ks.saved.size });
    const ok = (stdout = ''): ExecResult => ({ code: 0, stdout, stderr: '' });
    const afterOurBind = !this.leftoverAfterOurBind || this.calls.some((c) => c.cmd.includes('clevis luks bind'));
    const waitsForIt = this.leftoverHoldsLock && cmd.includes('flock -w');
    if (this.leftoverBindFinishesAt && (waitsForIt || (afterOurBind && this.leftoverBindFinishesAt.test(cmd)))) {
      this.leftoverBindFinishesAt = undefined;
      this.state = this.state === 'ours-tang' ? 'ours-tang-twice' : 'ours-tang';
    }
    const fixture = fx(`${this.state}.facts.txt`);
    if (cmd.includes('@@palisade-enc')) return ok(fixture);
    if (/flock -w \d+ -E \d+ \S+ true$/.test(cmd)) return ok();
    if (cmd.includes('clevis luks unbind')) {
      if (this.state === 'ours-tang-twice' && / -s 2\b/.test(cmd)) this.state = 'ours-tang';
      else if (this.state === 'ours-tang') this.state = 'ours-unbound';
      return ok();
    }
    if (cmd.includes('curl -fsS'))
      return this.tangDown ? { code: 7, stdout: '', stderr: 'curl: (7) Failed to connect to 127.0.0.1 port 7598' } : ok(fx('tang-adv-a.json'));
    if (cmd.includes('wipefs')) return ok();
    if (cmd.includes('luksFormat')) {
      if (this.formatSignals > 0) {
        this.formatSignals--;
        return { code: 136, stdout: '', stderr: '@@palisade-killed-by-signal 8\n' };
      }
      this.formattedUuid = /--uuid (\S+)/.exec(cmd)?.[1];
      this.state = 'ours-unbound';
      return ok();
    }
    if (cmd.includes('clevis luks bind')) {
      if (this.bindFails)
        return {
          code: 1,
          stdout: '',
          stderr: `Unable to fetch advertisement: '${TANG_URL}/adv/${THP_A}'!\nUnable to perform encryption with PIN 'tang'\nError adding new binding to /dev/vdb`,
        };
      this.state = this.state === 'ours-tang' ? 'ours-tang-twice' : 'ours-tang';
      return ok();
    }
    if (cmd.includes('luksDump --dump-json-metadata')) {
      return ok(
        `${section(fixture, 'luksdump')}\n\n@@uuid\n${this.formattedUuid ?? section(fixture, 'blkid').match(/UUID=(.*)/)?.[1]}\n@@clevis\n${section(fixture, 'clevis')}\n`,
      );
    }
    if (cmd.includes('@@pin-begin')) {
      const slots = [...cmd.matchAll(/echo @@pin-begin (\d+)/g)].map((m) => m[1]);
      return ok(slots.map((s) => `@@pin-begin ${s}\n@@pin-end ${s} rc=0\n`).join(''));
    }
    if (cmd.includes('--test-passphrase -v')) {
      const known = [...this.ks.saved.values()].some((e) => e.value === stdin);
      return known ? ok('Key slot 0 unlocked.\n') : { code: 2, stdout: '', stderr: 'No key available with this passphrase.' };
    }
    return { code: 127, stdout: '', stderr: `unexpected command: ${cmd}` };
  }
  async upload(source: string | Buffer, path: string, opts?: UploadOptions): Promise<void> {
    this.uploads.push({ path, data: String(source), opts });
  }
  async close(): Promise<void> {}
}

class MemoryKeystore implements EscrowStore {
  entries = new Map<string, EscrowEntry>();
  saved = new Map<string, EscrowEntry>();
  get(name: string) {
    return this.entries.get(name);
  }
  put(e: EscrowEntry) {
    this.entries.set(e.name, e);
  }
  async save() {
    this.saved = new Map(this.entries);
  }
}

function config(extra: Record<string, unknown> = {}) {
  return configSchema.parse({
    apiVersion: 'palisade/v1',
    cluster: { name: 'lab', fqdn: 'palisade.lab.internal' },
    hosts: [{ name: 'h1', address: '10.231.0.10', role: 'controller', dataDisk: '/dev/vdb' }],
    encryption: { mode: 'tang', tang: [{ url: TANG_URL, thumbprint: THP_A }], allowUnopened: true, ...extra },
  });
}

async function setup(state: string, extra: Record<string, unknown> = {}) {
  const ks = new MemoryKeystore();
  const host = new ScriptedHost(state, ks);
  return { ks, host, run: () => applyEncryption({ config: config(extra), hosts: [host], keystore: ks }) };
}

describe('applyEncryption', () => {
  it('escrows the recovery key before formatting, sends keys only on stdin, binds, writes crypttab, verifies', async () => {
    const { ks, host, run } = await setup('blank');
    const report = await run();
    expect(report.ok).toBe(true);
    const entry = ks.saved.get('luks-recovery/h1/vdb')!;
    expect(entry.kind).toBe('luks-recovery');
    expect(entry.meta?.uuid).toBe(host.formattedUuid);

    const format = host.calls.find((c) => c.cmd.includes('luksFormat'))!;
    expect(format.keystoreEntries).toBe(1);
    expect(format.stdin).toBe(entry.value);
    expect(host.calls.find((c) => c.cmd.includes('clevis luks bind'))!.stdin).toBe(entry.value);
    for (const c of host.calls) expect(c.cmd).not.toContain(entry.value);
    const order = host.calls
      .map((c) => (c.cmd.includes('curl -fsS') ? 'check' : c.cmd.includes('luksFormat') ? 'format' : c.cmd.includes('luks bind') ? 'bind' : ''))
      .filter(Boolean);
    expect(order).toEqual(['check', 'format', 'bind']);

    expect(host.uploads).toEqual([
      {
        path: '/etc/crypttab',
        data: expect.stringContaining(`palisade-vdb UUID=${host.formattedUuid} none luks,_netdev,noauto\n`),
        opts: expect.objectContaining({ mode: 0o644, sudo: true }),
      },
    ]);
    expect(report.hosts[0]!.disks[0]).toMatchObject({
      outcome: 'formatted',
      state: 'bound, not opened',
      verification: { ok: true, recoveryKey: 'ok', recoverySlot: 0 },
    });
  });

  it('refuses before touching anything when a disk holds a filesystem', async () => {
    const { ks, host, run } = await setup('ext4');
    const err = await run().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PalisadeError);
    expect((err as PalisadeError).code).toBe('encryption.refused');
    expect((err as PalisadeError).details[0]!.message).toMatch(/ext4/);
    expect(host.calls).toHaveLength(1);
    expect(ks.saved.size).toBe(0);
  });

  it('with Tang down, stops before escrow and format: the disk is unchanged', async () => {
    const { ks, host, run } = await setup('blank');
    host.tangDown = true;
    const report = await run();
    expect(report.ok).toBe(false);
    expect(report.hosts[0]!.error?.code).toBe('encryption.tang-unreachable');
    expect(report.hosts[0]!.error?.message).toMatch(/no disk on this host was changed/);
    expect(host.calls.some((c) => c.cmd.includes('luksFormat'))).toBe(false);
    expect(ks.saved.size).toBe(0);
  });

  it('refuses a Tang server whose key is not the pinned one', async () => {
    const { host, run } = await setup('blank', { tang: [{ url: TANG_URL, thumbprint: 'x'.repeat(43) }] });
    const report = await run();
    expect(report.hosts[0]!.error?.code).toBe('encryption.tang-thumbprint');
    expect(host.calls.some((c) => c.cmd.includes('luksFormat'))).toBe(false);
  });

  it('when binding fails after formatting, says the next run only binds; that run does', async () => {
    const { ks, host, run } = await setup('blank');
    host.bindFails = true;
    const first = await run();
    expect(first.hosts[0]!.error?.code).toBe('encryption.tang-unreachable');
    expect(first.hosts[0]!.error?.hint).toMatch(/recovery key is in the keystore .*next run only binds/);
    expect(ks.saved.size).toBe(1);
    expect(host.state).toBe('ours-unbound');

    host.bindFails = false;
    host.calls = [];
    // the recorded unbound header has its own uuid: the keystore entry is for it
    const uuid = /UUID=(.*)/.exec(section(fx('ours-unbound.facts.txt'), 'blkid'))![1]!;
    const e = ks.entries.get('luks-recovery/h1/vdb')!;
    ks.put({ ...e, meta: { ...e.meta, uuid } });
    await ks.save();
    host.formattedUuid = uuid;
    const second = await run();
    expect(second.hosts[0]!.disks[0]!.verification.problems).toEqual([]);
    expect(second.ok).toBe(true);
    expect(host.calls.some((c) => c.cmd.includes('luksFormat'))).toBe(false);
    expect(host.calls.filter((c) => c.cmd.includes('clevis luks bind'))).toHaveLength(1);
    expect(second.hosts[0]!.disks[0]!.outcome).toBe('rebound');
  });

  async function resumedAfterKilledBind(finishesAt: RegExp, afterOurBind = false, holdsLock = false) {
    const { ks, host, run } = await setup('ours-unbound');
    // the killed run escrowed the key for this header and started clevis, which goes on on the host
    const uuid = /UUID=(.*)/.exec(section(fx('ours-unbound.facts.txt'), 'blkid'))![1]!;
    ks.put({
      name: 'luks-recovery/h1/vdb',
      kind: 'luks-recovery',
      value: 'recovery key of the killed run',
      meta: { host: 'h1', device: '/dev/vdb', uuid },
      createdAt: new Date().toISOString(),
    });
    await ks.save();
    host.formattedUuid = uuid;
    host.leftoverBindFinishesAt = finishesAt;
    host.leftoverAfterOurBind = afterOurBind;
    host.leftoverHoldsLock = holdsLock;
    return { host, report: await run() };
  }

  it("resumed after a SIGKILL mid-bind: a binding the killed run's clevis finished on the host is taken as done, in the same run", async () => {
    // the leftover clevis finishes after this run gathered its facts, before it binds
    const { host, report } = await resumedAfterKilledBind(/--test-passphrase -v/);
    expect(report.hosts[0]!.disks[0]!.verification.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(host.calls.filter((c) => c.cmd.includes('clevis luks bind'))).toHaveLength(0);
    expect(host.state).toBe('ours-tang');
  });

  it('resumed after a SIGKILL mid-bind: a second copy of the binding that appears anyway is removed before verification', async () => {
    // the leftover finishes only after this run bound the disk itself: two bindings, the extra one goes
    const { host, report } = await resumedAfterKilledBind(/cryptsetup luksDump --dump-json-metadata/, true);
    expect(report.hosts[0]!.disks[0]!.verification.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(host.calls.filter((c) => c.cmd.includes('clevis luks unbind')).map((c) => /-s (\d+)/.exec(c.cmd)?.[1])).toEqual(['2']);
    expect(host.state).toBe('ours-tang');
  });

  it('resumed after a SIGKILL mid-bind: a leftover clevis that would finish after the cleanup is waited for before the header is read', async () => {
    // without the wait this run binds too, cleans up, and the leftover adds its binding just before verification
    const { host, report } = await resumedAfterKilledBind(/@@pin-begin/, true, true);
    expect(report.hosts[0]!.disks[0]!.verification.problems).toEqual([]);
    expect(report.ok).toBe(true);
    const waitAt = host.calls.findIndex((c) => /flock -w \d+ -E \d+ \S+ true$/.test(c.cmd));
    const headerAt = host.calls.findIndex((c) => c.cmd.includes('luksDump --dump-json-metadata') && !c.cmd.includes('@@palisade-enc'));
    expect(waitAt).toBeGreaterThanOrEqual(0);
    expect(waitAt).toBeLessThan(headerAt);
    expect(host.calls.filter((c) => c.cmd.includes('clevis luks bind'))).toHaveLength(0);
    expect(host.state).toBe('ours-tang');
  });

  it('approve sees the checked plan before any change; throwing there stops with nothing changed', async () => {
    const { ks, host } = await setup('blank');
    let seen: string[] = [];
    const err = await applyEncryption({
      config: config(),
      hosts: [host],
      keystore: ks,
      approve: (plan) => {
        seen = plan.hosts.flatMap((h) => h.disks.map((d) => `${h.host}:${d.device}:${d.action}`));
        throw new PalisadeError('encryption.confirm', 'not confirmed');
      },
    }).catch((e: unknown) => e);
    expect(seen).toEqual(['h1:/dev/vdb:format']);
    expect((err as PalisadeError).code).toBe('encryption.confirm');
    expect(host.calls).toHaveLength(1);
    expect(ks.saved.size).toBe(0);
  });

  it('progress lines name host, disk and step, never the key', async () => {
    const { ks, host } = await setup('blank');
    const out: string[] = [];
    const progress = plainProgress({ write: (s: string) => out.push(s) } as unknown as NodeJS.WritableStream);
    const report = await applyEncryption({
      config: config(),
      hosts: [host],
      keystore: ks,
      approve: (p) => progress.start(p),
      onProgress: (e) => progress.event(e),
    });
    await progress.finish(report);
    const text = out.join('');
    expect(text).toContain('h1 /dev/vdb: recovery key stored in the keystore (luks-recovery/h1/vdb)');
    expect(text).toMatch(/h1 \/dev\/vdb: LUKS2 formatted \(uuid [0-9a-f-]{36}\)/);
    expect(text).toContain('h1 /dev/vdb: verified: pins and recovery key open it');
    expect(text).toMatch(/h1: \/dev\/vdb formatted \(bound, not opened\) \(\d+\.\d s\)/);
    expect(text.indexOf('recovery key stored')).toBeLessThan(text.indexOf('LUKS2 formatted'));
    expect(text).not.toContain(ks.saved.get('luks-recovery/h1/vdb')!.value);
  });

  it('luksFormat killed by a signal (SIGFPE in the PBKDF benchmark) is tried once more, then reported with the fix', async () => {
    const once = await setup('blank');
    once.host.formatSignals = 1;
    const r1 = await once.run();
    expect(r1.ok).toBe(true);
    expect(once.host.calls.filter((c) => c.cmd.includes('luksFormat'))).toHaveLength(2);

    const twice = await setup('blank');
    twice.host.formatSignals = 2;
    const r2 = await twice.run();
    expect(r2.hosts[0]!.error?.code).toBe('encryption.format');
    expect(r2.hosts[0]!.error?.message).toMatch(/failed \(exit 136\): cryptsetup was killed by signal 8 \(SIGFPE: .*encryption\.pbkdfIterations/);
    expect(r2.hosts[0]!.error?.hint).toMatch(/recovery key is in the keystore/);
  });

  it('pinProblems (for plan) checks the pins a format would bind from the host, and changes nothing', async () => {
    const { ks, host } = await setup('blank');
    const plan = planEncryption({ config: config(), facts: new Map([['h1', parseEncryptionFacts('h1', ['/dev/vdb'], fx('blank.facts.txt'))]]) });
    expect(await pinProblems(plan, [host], 2)).toEqual([]);
    host.tangDown = true;
    expect(await pinProblems(plan, [host], 2)).toEqual([
      { path: 'h1', message: expect.stringMatching(/^\[encryption\.tang-unreachable\] h1: cannot reach the Tang server http:\/\/127\.0\.0\.1:7598/) },
    ]);
    expect(host.calls.every((c) => c.cmd.includes('curl -fsS'))).toBe(true);
    expect(ks.saved.size).toBe(0);
  });
});
