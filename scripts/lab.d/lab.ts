/**
 * scripts/lab: rehearsal hosts on this machine (see docs/ARCHITECTURE.md, "The lab"). The command
 * line only; `up`'s steps are in up.ts, `down` in down.ts, `status` in status.ts.
 *
 *   scripts/lab up N [--dir DIR] [--disk-size SIZE | --disk-size hostK=SIZE]... [--tpm] [--jump]
 *   scripts/lab down [--dir DIR]
 *   scripts/lab status [--dir DIR] [--json]
 *   scripts/lab ssh [--dir DIR] HOST [COMMAND...]
 *   scripts/lab prune-images
 *
 * Each host is a systemd-nspawn machine booting the cached Debian 12 image (images/host-os/)
 * through an overlay (DIR/hosts/NAME/upper), in its own network namespace on a bridge in
 * 10.231.0.0/24. Every resource is recorded in DIR/state.json before or as it is made;
 * `down` (and `up`, for a killed run's leftovers) removes exactly those.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { $ } from 'zx';
import { acquireFileLock } from '../../installer/core/lock.ts';
import { down } from './down.ts';
import { pruneImages } from './image.ts';
import { statePath } from './state.ts';
import { status } from './status.ts';
import { LabError, parseSize, readJson, say } from './sys.ts';
import type { LabInfo } from './types.ts';
import { up } from './up.ts';

function labDir(p: string): string {
  const dir = resolve(p);
  // (paths go into socat addresses and ssh_config lines: no spaces, ':', ',' or '!')
  if (!/^[A-Za-z0-9._/+@~=-]+$/.test(dir)) throw new LabError(`lab dir "${dir}": use only letters, digits and . _ / + @ ~ = - in its path`);
  return dir;
}

/** One `up`/`down` at a time per lab dir: DIR/lock, the installer's one file lock (released on exit). */
async function lockDir(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await acquireFileLock(join(dir, 'lock'), {
    command: `scripts/lab ${process.argv[2] ?? ''}`,
    busy: (holder) => new LabError(`another scripts/lab (pid ${holder.pid}) is working on ${dir}; wait for it`),
  });
}

// ---------------------------------------------------------------- main

let currentDir: string | undefined;
/** set once `up` has begun to make resources */
let started = false;

const collect = (v: string, prev: string[]): string[] => [...prev, v];
const dirOption = () => new Option('--dir <dir>', 'the lab directory (its state.json, hosts/, services/)').default('./lab');

/** `up N` with its --disk-size values checked against the hosts it makes. */
async function upCommand(n: string, o: { dir: string; diskSize: string[]; tpm?: boolean; jump?: boolean }): Promise<void> {
  const count = Number(n);
  if (!Number.isInteger(count) || count < 1 || count > 20) throw new LabError('up N: N must be a number of hosts from 1 to 20', 2);
  let diskDefault = parseSize('2G');
  const diskPerHost = new Map<string, number>();
  for (const v of o.diskSize) {
    const m = /^([a-z0-9-]+)=(.+)$/.exec(v);
    if (m) diskPerHost.set(m[1]!, parseSize(m[2]!));
    else diskDefault = parseSize(v);
  }
  const jump = o.jump === true;
  const total = count + (jump ? 1 : 0);
  for (const k of diskPerHost.keys()) {
    if (!/^host\d+$/.test(k) || Number(k.slice(4)) < 1 || Number(k.slice(4)) > total)
      throw new LabError(`--disk-size ${k}=…: this lab has host1..host${total}`, 2);
  }
  const dir = labDir(o.dir);
  currentDir = dir;
  await lockDir(dir);
  await up({ count, dir, diskDefault, diskPerHost, tpm: o.tpm === true, jump }, () => {
    started = true;
  });
}

function program(): Command {
  const p = new Command('scripts/lab')
    .description('rehearsal hosts on this machine: systemd-nspawn machines on a bridge in 10.231.0.0/24, with Tang, NTP and optional TPMs')
    .enablePositionalOptions()
    .showHelpAfterError('(scripts/lab --help for usage)')
    .exitOverride()
    .addHelpText(
      'after',
      `
Up to 8 labs run side by side (one /27 of 10.231.0.0/24 each, claimed in /run/palisade-lab).
\`scripts/lab COMMAND --help\` tells more. Typical: \`scripts/lab up 4 --tpm\`, then
\`scripts/lab ssh host1\`, \`scripts/lab status\`, \`scripts/lab down\`.`,
    );
  p.command('up')
    .description('build N hosts (and clear what a killed run of this lab left)')
    .argument('<N>', 'number of hosts, 1 to 20')
    .addOption(dirOption())
    .option('--disk-size <size>', 'data disk size, e.g. 2G; hostK=SIZE for one host (repeatable)', collect, [])
    .option('--tpm', 'give every host a swtpm TPM 2.0')
    .option('--jump', 'add a jump host; the last host is reachable only through it')
    .addHelpText(
      'after',
      `
Hosts host1..hostN: 3 controllers from 3 hosts up (else 1), the rest workers; each has a data
disk at /dev/vdb (a loop file, 2G unless --disk-size). Writes DIR/palisade.yaml (every host's
key pinned, Tang thumbprints, sizing for this machine) and DIR/lab.json (what tests read).
Every resource is recorded in DIR/state.json as it is made: a run stopped halfway is cleared by
the next \`up\` or by \`down\`. Needs root and the tools \`bash scripts/setup\` installs.

Examples:
  scripts/lab up 3                          3 controllers in ./lab
  scripts/lab up 4 --tpm --dir /tmp/l4      3 controllers + 1 worker, each with a TPM
  scripts/lab up 2 --jump --disk-size host2=512M`,
    )
    .action(upCommand);
  p.command('down')
    .description('remove everything the lab recorded')
    .addOption(dirOption())
    .action(async (o: { dir: string }) => {
      const dir = labDir(o.dir);
      currentDir = dir;
      await lockDir(dir);
      await down(dir);
    });
  p.command('status')
    .description("each host's state (exit 1 when anything is down)")
    .addOption(dirOption())
    .option('--json', 'as JSON')
    .action((o: { dir: string; json?: boolean }) => status(labDir(o.dir), o.json === true));
  p.command('ssh')
    .description("OpenSSH to a host with the lab's key and pinned host keys (user: HOST or ops@HOST)")
    .addOption(dirOption())
    .argument('<host>')
    .argument('[command...]', 'run this instead of a login shell')
    .passThroughOptions()
    .action(async (host: string, command: string[], o: { dir: string }) => {
      const d = labDir(o.dir);
      const info = readJson<LabInfo>(join(d, 'lab.json'));
      if (!info) throw new LabError(`no lab up in ${d}`);
      // interactive: no time limit
      const r = await $({
        stdio: 'inherit',
        nothrow: true,
      })`ssh -F ${info.sshConfigPath} ${process.stdin.isTTY && !command.length ? ['-t'] : []} ${host} ${command}`;
      process.exitCode = r.exitCode ?? 255;
    });
  p.command('prune-images')
    .description('remove cached host images of other recipes that no running lab uses')
    .action(() => pruneImages());
  return p;
}

async function main(argv: string[]): Promise<void> {
  try {
    await program().parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    // help exits 0; a usage mistake 2 (commander printed why)
    process.exitCode = e.code === 'commander.helpDisplayed' || e.code === 'commander.help' || e.code === 'commander.version' ? 0 : 2;
  }
}

main(process.argv.slice(2)).catch((e: unknown) => {
  if (e instanceof LabError) {
    say(e.message);
    process.exitCode = e.exitCode;
    if (process.argv[2] === 'up' && started && currentDir && existsSync(statePath(currentDir))) {
      say(`what this run made is recorded: \`scripts/lab down --dir ${currentDir}\` removes it (logs: DIR/hosts/*/console.log, DIR/services/*.log)`);
    }
  } else {
    console.error(e);
    process.exitCode = 1;
  }
});
