/**
 * Disk encryption benchmark on lab hosts (real cryptsetup, clevis, tangd):
 * `applyEncryption` on 1 host vs on 3 hosts (they run in parallel), and the
 * same 3 disks done by hand as the real peer: OpenSSH, one host after the
 * other, `cryptsetup luksFormat` + `clevis luks bind` with the key on stdin
 * (no checks, no escrow, no verification — palisade does all three).
 *
 *   npx tsx scripts/bench/encryption.ts [--rounds 3] [--cost lab|default] [--mode tang|tpm2+tang]
 *
 * Uses the lab in PALISADE_LAB_DIR when set (host1..host3), else brings one up
 * in .cache/bench-encryption-lab and takes it down at the end. `--cost lab`:
 * argon2id, 32 KiB, 4 passes (what the lab tests use); `--cost default`:
 * cryptsetup's own benchmark (argon2id tuned to 2 s per unlock), as in production.
 * Palisade is timed in process on open SSH connections; the peer pays one
 * OpenSSH connection per host (~0.1 s on the lab bridge).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../installer/config/load.ts';
import type { EncryptionConfig, PalisadeConfig } from '../../installer/config/schema.ts';
import { shq } from '../../installer/core/quote.ts';
import { applyEncryption } from '../../installer/encryption/apply.ts';
import { generateRecoveryKey } from '../../installer/encryption/recovery.ts';
import type { EscrowEntry, EscrowStore } from '../../installer/encryption/types.ts';
import { closeAll, connectHosts } from '../../installer/hosts/index.ts';
import type { LabInfo } from '../lab.d/types.ts';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '3' }, cost: { type: 'string', default: 'lab' }, mode: { type: 'string', default: 'tang' } },
});
const rounds = Number(values.rounds);
const cost = values.cost === 'default' ? 'default' : 'lab';
const mode = values.mode === 'tpm2+tang' ? 'tpm2+tang' : 'tang';
const repo = resolve(import.meta.dirname, '../..');
const NAMES = ['host1', 'host2', 'host3'];

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function sshRun(lab: LabInfo, host: string, cmd: string, input = ''): Promise<void> {
  return new Promise((res, rej) => {
    const c = spawn('ssh', ['-F', lab.sshConfigPath, host, cmd], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.once('exit', (code) => (code === 0 ? res() : rej(new Error(`${host}: exit ${code}: ${err}`))));
    c.stdin.end(input);
  });
}

class Escrow implements EscrowStore {
  private m = new Map<string, EscrowEntry>();
  get(n: string) {
    return this.m.get(n);
  }
  put(e: EscrowEntry) {
    this.m.set(e.name, e);
  }
  async save() {}
}

let ownLab: string | undefined;
let labDir = process.env.PALISADE_LAB_DIR;
if (!labDir || !existsSync(join(labDir, 'lab.json'))) {
  ownLab = labDir = join(repo, '.cache/bench-encryption-lab');
  process.stderr.write(`bringing up a lab in ${labDir}\n`);
  execFileSync(join(repo, 'scripts/lab'), ['up', '3', '--tpm', '--dir', labDir], { stdio: ['ignore', 'ignore', 'inherit'] });
}
const lab = JSON.parse(execFileSync('cat', [join(labDir, 'lab.json')], { encoding: 'utf8' })) as LabInfo;
const loaded = await loadConfig(lab.configPath);
const tang = lab.services.tang.slice(0, 1);
const costSettings: Partial<EncryptionConfig> = cost === 'lab' ? { pbkdf: 'argon2id', pbkdfMemoryKiB: 32, pbkdfIterations: 4 } : { pbkdf: 'argon2id' };
const config: PalisadeConfig = {
  ...loaded.config,
  encryption: { ...loaded.config.encryption, mode, tang, threshold: undefined, wipe: false, allowUnopened: true, ...costSettings },
};
const { hosts, failures } = await connectHosts(config, loaded.baseDir, { only: NAMES });
if (failures.length) throw new Error(`cannot reach ${failures.map((f) => f.name).join(', ')}`);
const reset = () =>
  Promise.all(NAMES.map((n) => hosts.get(n)!.exec("dd if=/dev/zero of=/dev/vdb bs=1M count=20 conv=fsync status=none; sed -i '/^palisade-/d' /etc/crypttab 2>/dev/null; true", { sudo: true, check: true })));

// the peer: what an operator types, host after host
const fmtArgs = cost === 'lab' ? '--pbkdf argon2id --pbkdf-memory 32 --pbkdf-force-iterations 4 --pbkdf-parallel 1' : '--pbkdf argon2id';
const pin = mode === 'tang' ? `tang ${shq(JSON.stringify({ url: tang[0]!.url, thp: tang[0]!.thumbprint }))}` : `sss ${shq(JSON.stringify({ t: 2, pins: { tang: [{ url: tang[0]!.url, thp: tang[0]!.thumbprint }], tpm2: [{ pcr_ids: '7' }] } }))}`;
const peerCmd = `set -e; . /etc/environment; export TPM2TOOLS_TCTI; key=$(cat); printf %s "$key" | cryptsetup luksFormat --type luks2 --batch-mode ${fmtArgs} --key-file=- /dev/vdb; printf %s "$key" | clevis luks bind -y -d /dev/vdb -k - ${pin}`;

const t = { one: [] as number[], three: [] as number[], peer: [] as number[] };
try {
  for (let r = 0; r < rounds; r++) {
    await reset();
    let t0 = performance.now();
    const one = await applyEncryption({ config, hosts: [hosts.get('host1')!], keystore: new Escrow() });
    t.one.push(performance.now() - t0);
    if (!one.ok) throw new Error(`1 host: ${one.hosts.map((h) => h.error?.message).join('; ')}`);

    await reset();
    t0 = performance.now();
    const three = await applyEncryption({ config, hosts: NAMES.map((n) => hosts.get(n)!), keystore: new Escrow() });
    t.three.push(performance.now() - t0);
    if (!three.ok) throw new Error(`3 hosts: ${three.hosts.map((h) => h.error?.message).join('; ')}`);

    await reset();
    t0 = performance.now();
    for (const n of NAMES) await sshRun(lab, n, peerCmd, generateRecoveryKey());
    t.peer.push(performance.now() - t0);
    process.stderr.write(`round ${r + 1}: 1 host ${(t.one[r]! / 1000).toFixed(2)} s, 3 hosts ${(t.three[r]! / 1000).toFixed(2)} s, peer (OpenSSH, serial) 3 hosts ${(t.peer[r]! / 1000).toFixed(2)} s\n`);
  }
} finally {
  await reset().catch(() => undefined);
  await closeAll(hosts);
  if (ownLab) execFileSync(join(repo, 'scripts/lab'), ['down', '--dir', ownLab], { stdio: ['ignore', 'ignore', 'inherit'] });
}
const m = { one: median(t.one), three: median(t.three), peer: median(t.peer) };
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
console.log(`mode ${mode}, cost ${cost}, ${rounds} round(s), medians:`);
console.log(`  palisade, 1 host:                   ${s(m.one)}`);
console.log(`  palisade, 3 hosts in parallel:      ${s(m.three)}   3 hosts / 1 host = ${(m.three / m.one).toFixed(2)}`);
console.log(`  peer (OpenSSH, by hand, serial), 3: ${s(m.peer)}   palisade / peer = ${(m.three / m.peer).toFixed(2)}`);
