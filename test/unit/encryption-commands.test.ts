import { spawnSync } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  clevisBindCommand,
  bindLockPath,
  clevisUnbindCommand,
  luksFormatCommand,
  pinReleaseCommand,
  REMOTE_PRELUDE,
  SIGNAL_MARKER,
  tangAdvertisementCommand,
  testKeyCommand,
  tpmProbeCommand,
  waitForBindCommand,
} from '../../installer/encryption/commands.ts';
import {
  crypttabEntry,
  escapeUnitPath,
  formatCrypttabLine,
  mergeCrypttab,
  mountUnit,
  mountUnitName,
  parseCrypttab,
} from '../../installer/encryption/crypttab.ts';
import { encryptionFactsScript } from '../../installer/encryption/facts.ts';
import { generateRecoveryKey, isRecoveryKey } from '../../installer/encryption/recovery.ts';
import { recoveryKeyName, volumeName } from '../../installer/encryption/settings.ts';

/** The last line of a remote script: the command itself, after the prelude. */
const body = (cmd: string) => cmd.slice(REMOTE_PRELUDE.length + 1);
const settings = { cipher: 'aes-xts-plain64', pbkdf: 'argon2id' as const, pbkdfMemoryKiB: 65536, iterTimeMs: 500 };

describe('command lines', () => {
  it('luksFormat reads the key from stdin and tags the header as palisade', () => {
    const c = body(luksFormatCommand({ device: '/dev/vdb', uuid: '11111111-2222-3333-4444-555555555555', label: 'palisade-vdb', settings })).split('\n')[0];
    expect(c).toBe(
      'cryptsetup luksFormat --type luks2 --batch-mode --cipher aes-xts-plain64 --pbkdf argon2id --pbkdf-memory 65536 --iter-time 500 --label palisade-vdb --subsystem palisade --uuid 11111111-2222-3333-4444-555555555555 --key-file=- /dev/vdb',
    );
    expect(body(luksFormatCommand({ device: '/dev/vdb', uuid: 'u', label: 'l', settings: { ...settings, pbkdf: 'pbkdf2' } }))).not.toMatch(/--pbkdf-memory/);
  });

  it('luksFormat with a fixed PBKDF cost skips the benchmark; a signal death is reported, not hidden by exec', async () => {
    const c = body(luksFormatCommand({ device: '/dev/vdb', uuid: 'u', label: 'l', settings: { ...settings, pbkdfMemoryKiB: 32, pbkdfIterations: 4 } }));
    expect(c.split('\n')[0]).toBe(
      'cryptsetup luksFormat --type luks2 --batch-mode --cipher aes-xts-plain64 --pbkdf argon2id --pbkdf-memory 32 --pbkdf-force-iterations 4 --pbkdf-parallel 1 --label l --subsystem palisade --uuid u --key-file=- /dev/vdb',
    );
    expect(body(luksFormatCommand({ device: '/dev/vdb', uuid: 'u', label: 'l', settings: { ...settings, pbkdf: 'pbkdf2', pbkdfIterations: 4 } }))).toMatch(
      /--pbkdf-force-iterations 1000 --label/,
    );
    // a shell runs the script: a child killed by SIGFPE gives exit 136 and the marker
    const script = luksFormatCommand({ device: '/dev/vdb', uuid: 'u', label: 'l', settings }).replace(
      /^cryptsetup luksFormat .*$/m,
      'sh -c "kill -FPE \\$\\$"',
    );
    const r = spawnSync('sh', ['-c', script], { encoding: 'utf8' });
    expect(r.status).toBe(136);
    expect(r.stderr).toContain(`${SIGNAL_MARKER} 8`);
  });

  it('clevis bind passes the pin config as one quoted word and the key on stdin', () => {
    const c = body(clevisBindCommand('/dev/vdb', { pin: 'tang', url: 'http://10.231.0.2:7500', thumbprints: ['abc'] }));
    expect(c).toBe(
      `mkdir -p /run/palisade && flock -w 600 -E 75 /run/palisade/bind_dev_vdb.lock clevis luks bind -y -d /dev/vdb -k - tang '{"url":"http://10.231.0.2:7500","thp":"abc"}'`,
    );
  });

  it("a bind holds its device's lock while clevis runs; the wait takes the same lock and returns at once when it is free", () => {
    expect(bindLockPath('/dev/disk/by-id/x y')).toBe('/run/palisade/bind_dev_disk_by-id_x_y.lock');
    expect(body(waitForBindCommand('/dev/vdb'))).toBe('mkdir -p /run/palisade && flock -w 600 -E 75 /run/palisade/bind_dev_vdb.lock true');
    // a lock held by another process: the wait blocks until it is released (flock from util-linux, as on the hosts)
    const dir = mkdtempSync(join(tmpdir(), 'palisade-bindlock-'));
    const lock = join(dir, 'l');
    const script = waitForBindCommand('/dev/vdb')
      .replaceAll('/run/palisade/bind_dev_vdb.lock', lock)
      .replace('mkdir -p /run/palisade', 'true')
      .replace('-w 600', '-w 1');
    writeFileSync(join(dir, 'wait.sh'), script);
    const holder = spawnSync(
      'sh',
      ['-c', `flock ${lock} sleep 2 & sleep 0.3; t0=$(date +%s%N); sh ${join(dir, 'wait.sh')}; rc=$?; echo $rc $(( ($(date +%s%N) - t0) / 1000000 )); wait`],
      { encoding: 'utf8' },
    );
    const [rc, ms] = holder.stdout.trim().split(' ').map(Number);
    expect(rc).toBe(75);
    expect(ms).toBeGreaterThanOrEqual(900);
    const free = spawnSync('sh', ['-c', script], { encoding: 'utf8' });
    expect(free.status, free.stderr).toBe(0);
  });

  it('flushes TPM sessions around tpm2 work on a TCTI without resource manager', () => {
    const c = clevisBindCommand('/dev/vdb', {
      pin: 'sss',
      threshold: 1,
      pins: [
        { pin: 'tpm2', pcrs: [7] },
        { pin: 'tang', url: 'http://t', thumbprints: ['x'] },
      ],
    });
    expect(c).toMatch(/swtpm:\*\|mssim:\*\) tpm2_flushcontext --loaded-session/);
    expect(c).toMatch(
      /clevis luks bind -y -d \/dev\/vdb -k - sss '\{"t":1,"pins":\{"tpm2":\[\{"pcr_ids":"7"\}\],"tang":\[\{"url":"http:\/\/t","thp":"x"\}\]\}\}'\npalisade_rc=\$\?/,
    );
    expect(clevisBindCommand('/dev/vdb', { pin: 'tang', url: 'http://t', thumbprints: ['x'] })).not.toMatch(/flushcontext/);
    expect(tpmProbeCommand([0, 7])).toMatch(/clevis encrypt tpm2 '\{"pcr_ids":"0,7"\}' \| clevis decrypt/);
  });

  it('quotes hostile device names', () => {
    expect(body(clevisUnbindCommand('/dev/disk/by-id/x y;rm -rf /', 3))).toBe(`clevis luks unbind -f -d '/dev/disk/by-id/x y;rm -rf /' -s 3`);
    expect(body(testKeyCommand("/dev/it's", 0))).toBe(`cryptsetup open --test-passphrase --key-slot 0 --key-file=- '/dev/it'\\''s'`);
  });

  it('checks a pin by piping clevis into cryptsetup on the host', () => {
    expect(pinReleaseCommand('/dev/vdb', 2)).toMatch(
      /\{ clevis luks pass -d \/dev\/vdb -s 2 \|\| echo @@palisade-clevis-pass-failed >&2; \} \| cryptsetup open --test-passphrase --key-slot 2 --key-file=- \/dev\/vdb/,
    );
    expect(body(tangAdvertisementCommand('http://10.231.0.2:7500/'))).toBe('curl -fsS --max-time 10 http://10.231.0.2:7500/adv');
  });

  it('the facts probe is valid shell and reads the TCTI from /etc/environment as data', () => {
    const script = encryptionFactsScript(['/dev/vdb', '/dev/vdc'], '/var/lib/palisade');
    execFileSync('sh', ['-n'], { input: script });
    expect(script).not.toMatch(/\. \/etc\/environment/);
    expect(REMOTE_PRELUDE).toMatch(/sed -n .*TPM2TOOLS_TCTI|for v in TPM2TOOLS_TCTI/);
  });
});

describe('crypttab', () => {
  const ours = crypttabEntry({ name: 'palisade-vdb', uuid: 'aaaa', netdev: true, noauto: false });

  it('uses _netdev for tang and noauto for volumes left closed', () => {
    expect(formatCrypttabLine(ours)).toBe('palisade-vdb UUID=aaaa none luks,_netdev');
    expect(formatCrypttabLine(crypttabEntry({ name: 'palisade-vdb', uuid: 'aaaa', netdev: false, noauto: true }))).toBe(
      'palisade-vdb UUID=aaaa none luks,noauto',
    );
  });

  it('keeps other volumes and comments, replaces ours in place, appends new ones', () => {
    const current = '# comment\nswap /dev/sda2 /dev/urandom swap\npalisade-vdb UUID=old none luks\nhome UUID=h none luks\n';
    const vdc = crypttabEntry({ name: 'palisade-vdc', uuid: 'cccc', netdev: false, noauto: false });
    expect(mergeCrypttab(current, [ours, vdc])).toBe(
      '# comment\nswap /dev/sda2 /dev/urandom swap\npalisade-vdb UUID=aaaa none luks,_netdev\nhome UUID=h none luks\npalisade-vdc UUID=cccc none luks\n',
    );
  });

  it('returns undefined when nothing changes, and writes a header into an empty file', () => {
    expect(mergeCrypttab('palisade-vdb   UUID=aaaa  none  luks,_netdev\n', [ours])).toBeUndefined();
    expect(mergeCrypttab('', [ours])).toBe('# <target name> <source device> <key file> <options>\npalisade-vdb UUID=aaaa none luks,_netdev\n');
    expect(parseCrypttab(mergeCrypttab('', [ours])!).get('palisade-vdb')).toEqual(ours);
  });

  it('names mount units as systemd-escape --path does', () => {
    expect(escapeUnitPath('/var/lib/palisade')).toBe('var-lib-palisade');
    expect(escapeUnitPath('/srv/my-data/')).toBe('srv-my\\x2ddata');
    expect(escapeUnitPath('/')).toBe('-');
    expect(mountUnitName('/var/lib/palisade')).toBe('var-lib-palisade.mount');
    const unit = mountUnit({ volume: 'palisade-vdb', mountPoint: '/var/lib/palisade', netdev: true });
    expect(unit).toMatch(/^What=\/dev\/mapper\/palisade-vdb$/m);
    expect(unit).toMatch(/^Where=\/var\/lib\/palisade$/m);
    expect(unit).toMatch(/^Requires=systemd-cryptsetup@palisade-vdb\.service$/m);
    expect(unit).toMatch(/^Options=defaults,noatime,_netdev$/m);
  });
});

describe('recovery keys and names', () => {
  it('are 256 random bits in modhex groups', () => {
    const k = generateRecoveryKey();
    expect(isRecoveryKey(k)).toBe(true);
    expect(k).toHaveLength(71);
    expect(generateRecoveryKey()).not.toBe(k);
    expect(generateRecoveryKey(Buffer.alloc(32, 0xff))).toBe(Array(8).fill('vvvvvvvv').join('-'));
  });

  it('names keystore entries and volumes from host and device', () => {
    expect(recoveryKeyName('cp1', '/dev/vdb')).toBe('luks-recovery/cp1/vdb');
    expect(recoveryKeyName('cp1', '/dev/disk/by-id/nvme-x')).toBe('luks-recovery/cp1/disk/by-id/nvme-x');
    expect(volumeName('/dev/disk/by-id/nvme-Samsung_SSD.1')).toBe('palisade-nvme-Samsung_SSD_1');
  });
});
