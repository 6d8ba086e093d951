/**
 * Disk encryption on lab hosts (real cryptsetup, clevis, tangd), whole command against whole
 * command: `palisade encryption apply --yes` on 3 hosts (probe, plan, Tang checked from each
 * host, recovery keys escrowed in a fresh keystore, luksFormat, clevis bind, crypttab, and the
 * full verification) against what an operator types without palisade: OpenSSH running
 * `cryptsetup luksFormat` + `clevis luks bind` with the key on stdin, the 3 hosts at once
 * (the fair peer) and host after host (what a hand-run loop does); no checks, no escrow, no
 * verification. And palisade on 3 hosts against palisade on 1 (hosts are worked in parallel).
 * Every run starts from blank data disks (wiped outside the timing).
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { $ } from 'zx';
import { shq } from '../../installer/core/quote.ts';
import { generateRecoveryKey } from '../../installer/encryption/recovery.ts';
import { REPO_ROOT } from '../bundle/build-test-bundle.ts';
import { benchArgs, compare, type ComparisonResult, PALISADE, report, runCommand, type Sample } from './harness.ts';
import { benchLab } from './lab-env.ts';

const values = benchArgs(
  `usage: node --import tsx scripts/bench/encryption.ts [--cost lab|default] [--mode tang|tpm2+tang] [--dir DIR] [--keep] [--rounds 3]

Uses a lab with 3 hosts (one up in PALISADE_LAB_DIR or --dir, default
.cache/labs/bench-encryption, else brings one up with TPMs and takes it down at the end unless
--keep). --cost lab: argon2id, 32 KiB, 4 passes (what the lab tests use); --cost default:
cryptsetup's own benchmark (argon2id tuned to 2 s per unlock), as in production. Every run
starts from wiped data disks.`,
  {
    cost: { type: 'string', default: 'lab' },
    mode: { type: 'string', default: 'tang' },
    dir: { type: 'string', default: join(REPO_ROOT, '.cache/labs/bench-encryption') },
    keep: { type: 'boolean', default: false },
  },
);
const rounds = Number(values.rounds);
const cost = values.cost === 'default' ? 'default' : 'lab';
const mode = values.mode === 'tpm2+tang' ? 'tpm2+tang' : 'tang';
const NAMES = ['host1', 'host2', 'host3'];

const lab = await benchLab(3, { dir: resolve(values.dir), keep: values.keep, tpm: true });
const info = lab.info;
const work = join(info.dir, 'bench-encryption');
const ssh = (host: string, cmd: string) => $({ quiet: true })`ssh -F ${info.sshConfigPath} ${host} ${cmd}`;
const wipe = async (): Promise<void> => {
  await Promise.all(
    NAMES.map((h) => ssh(h, "dd if=/dev/zero of=/dev/vdb bs=1M count=20 conv=fsync status=none; sed -i '/^palisade-/d' /etc/crypttab 2>/dev/null; true")),
  );
};
try {
  await mkdir(work, { recursive: true });
  // the lab's config with this bench's mode and key-slot cost, one Tang server
  const cfg = parse(await readFile(info.configPath, 'utf8')) as Record<string, Record<string, unknown>>;
  const tang = info.services.tang[0];
  if (!tang) throw new Error('the lab has no Tang server');
  cfg.encryption = {
    ...cfg.encryption,
    mode,
    tang: [{ url: tang.url, thumbprint: tang.thumbprint }],
    wipe: false,
    allowUnopened: true,
    pbkdf: 'argon2id',
    ...(cost === 'lab' ? { pbkdfMemoryKiB: 32, pbkdfIterations: 4 } : {}),
  };
  // in the lab's directory: its paths (key, known hosts) are relative to it
  const cfgPath = join(info.dir, 'bench-encryption.yaml');
  await writeFile(cfgPath, stringify(cfg));
  const pass = join(work, 'passphrase');
  await writeFile(pass, 'bench keystore passphrase', { mode: 0o600 });
  let run = 0;
  const palisade = (hosts: string[]) => ({
    label: `palisade encryption apply -c palisade.yaml --host ${hosts.join(' ')} --yes --keystore NEW --passphrase-file FILE`,
    run: async (): Promise<Sample> => {
      await wipe();
      const ks = join(work, `keystore-${run++}.json`);
      const r = await runCommand([
        process.execPath,
        PALISADE,
        'encryption',
        'apply',
        '-c',
        cfgPath,
        '--host',
        ...hosts,
        '--yes',
        '--keystore',
        ks,
        '--passphrase-file',
        pass,
        '--output',
        'json',
      ]);
      const rep = JSON.parse(r.stdout) as { ok: boolean };
      if (!rep.ok) throw new Error(`encryption apply did not succeed:\n${r.stdout.slice(-2000)}`);
      await rm(ks, { force: true });
      return { seconds: r.seconds, extra: { cpuSeconds: r.cpuSeconds } };
    },
  });
  const fmtArgs = cost === 'lab' ? '--pbkdf argon2id --pbkdf-memory 32 --pbkdf-force-iterations 4 --pbkdf-parallel 1' : '--pbkdf argon2id';
  const pin =
    mode === 'tang'
      ? `tang ${shq(JSON.stringify({ url: tang.url, thp: tang.thumbprint }))}`
      : `sss ${shq(JSON.stringify({ t: 2, pins: { tang: [{ url: tang.url, thp: tang.thumbprint }], tpm2: [{ pcr_ids: '7' }] } }))}`;
  const peerScript = join(work, 'by-hand.sh');
  await writeFile(
    peerScript,
    `set -e; . /etc/environment; export TPM2TOOLS_TCTI; key=$(cat); printf %s "$key" | cryptsetup luksFormat --type luks2 --batch-mode ${fmtArgs} --key-file=- /dev/vdb; printf %s "$key" | clevis luks bind -y -d /dev/vdb -k - ${pin}\n`,
  );
  const keys = async (): Promise<void> => {
    for (const h of NAMES) await writeFile(join(work, `${h}.key`), generateRecoveryKey(), { mode: 0o600 });
  };
  // the script is the remote command, the key goes on stdin (never in an argv)
  const one = (h: string): string => `ssh -F ${info.sshConfigPath} ${h} "$(cat ${peerScript})" < ${join(work, `${h}.key`)}`;
  const parallel = {
    label: 'xargs -P3 -I{} sh -c \'ssh {} "luksFormat + clevis luks bind" < {}.key\'',
    run: async (): Promise<Sample> => {
      await wipe();
      await keys();
      await writeFile(join(work, 'hosts.txt'), NAMES.join('\n') + '\n');
      const r = await runCommand(`xargs -P3 -I{} sh -c '${one('{}').replace(/'/g, `'\\''`)}' < ${join(work, 'hosts.txt')}`);
      return { seconds: r.seconds, extra: { cpuSeconds: r.cpuSeconds } };
    },
  };
  const serial = {
    label: 'for h in host1 host2 host3; do ssh $h "luksFormat + clevis luks bind" < $h.key; done',
    run: async (): Promise<Sample> => {
      await wipe();
      await keys();
      const r = await runCommand(NAMES.map(one).join(' && '));
      return { seconds: r.seconds, extra: { cpuSeconds: r.cpuSeconds } };
    },
  };
  const results: ComparisonResult[] = [];
  results.push(
    await compare(
      { title: 'encrypt 3 data disks vs OpenSSH by hand, 3 hosts at once', kind: 'whole command vs whole command', palisade: palisade(NAMES), peer: parallel },
      rounds,
    ),
  );
  results.push(
    await compare(
      { title: 'encrypt 3 data disks vs OpenSSH by hand, host after host', kind: 'whole command vs whole command', palisade: palisade(NAMES), peer: serial },
      rounds,
    ),
  );
  results.push(
    await compare(
      { title: 'palisade, 3 hosts vs 1 host', kind: 'whole command vs whole command', palisade: palisade(NAMES), peer: palisade(['host1']) },
      rounds,
    ),
  );
  await report(
    'Disk encryption',
    results,
    {
      setup: `mode ${mode}, one Tang server, key-slot cost ${cost === 'lab' ? 'argon2id 32 KiB, 4 passes' : "cryptsetup's benchmark (argon2id, ~2 s per unlock)"}; ${NAMES.length} lab hosts (systemd-nspawn sharing this machine's cores), loop-file data disks, cryptsetup + clevis + tangd from Debian`,
      'palisade does beyond the peer':
        'probe and plan, Tang reached from each host, the recovery key escrowed in an encrypted keystore (scrypt) before the format, crypttab, and the verification (header, clevis luks pass, the recovery key opens the disk)',
    },
    values.json,
  );
} finally {
  await wipe().catch(() => undefined);
  await rm(work, { recursive: true, force: true });
  await rm(join(info.dir, 'bench-encryption.yaml'), { force: true });
  await lab.release();
}
