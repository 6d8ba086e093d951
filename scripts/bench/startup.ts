/**
 * Start-up: `palisade --version` and `palisade validate` as the single executable, as the
 * compiled entry of a checkout and as the TypeScript sources through tsx, each against bare
 * `node -e 0` in the same rounds; plus the executable's size.
 */
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildExecutable } from '../build/sea.mjs';
import { REPO_ROOT } from '../bundle/build-test-bundle.ts';
import { benchArgs, compare, MiB, report, runCommand, type Contender } from './harness.ts';

const values = benchArgs(
  `usage: node --import tsx scripts/bench/startup.ts [--rounds 10]

Start-up of palisade (--version, validate) as the single executable (dist/palisade), the
compiled entry (installer/bin/palisade.js -> dist/palisade.cjs) and the tsx entry
(node --import tsx installer/main.ts), each against bare \`node -e 0\` in the same rounds.
Whole commands. Builds the executable first when it is stale.`,
  {},
  10,
);
const rounds = Number(values.rounds);
const exe = await buildExecutable({ quiet: true });
const work = await mkdtemp(join(tmpdir(), 'palisade-bench-startup-'));
try {
  // the config `palisade init` writes, with the SSH key it names present
  const home = join(work, 'home');
  await mkdir(join(home, '.ssh'), { recursive: true });
  await runCommand(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', join(home, '.ssh', 'id_ed25519')]);
  const env = { HOME: home };
  await runCommand([exe.path, 'init', '-c', join(work, 'palisade.yaml')], { env });
  const cfg = join(work, 'palisade.yaml');
  const cmd = (label: string, argv: string[]): Contender => ({ label, run: async () => runCommand(argv, { env, cwd: REPO_ROOT }) });
  const node0 = cmd('node -e 0', [process.execPath, '-e', '0']);
  const compiled = [process.execPath, join(REPO_ROOT, 'installer/bin/palisade.js')];
  const tsx = [process.execPath, '--import', 'tsx', join(REPO_ROOT, 'installer/main.ts')];
  // one run each first: the compiled entry writes its code cache on its first start after a build
  for (const argv of [[exe.path], compiled, tsx]) await runCommand([...argv, '--version'], { cwd: REPO_ROOT });
  const results = [];
  results.push(
    await compare(
      {
        title: '--version, single executable',
        kind: 'whole command vs whole command',
        palisade: cmd('./palisade --version', [exe.path, '--version']),
        peer: node0,
        aim: { max: 2 },
      },
      rounds,
    ),
  );
  results.push(
    await compare(
      {
        title: '--version, compiled entry',
        kind: 'whole command vs whole command',
        palisade: cmd('node installer/bin/palisade.js --version', [...compiled, '--version']),
        peer: node0,
      },
      rounds,
    ),
  );
  results.push(
    await compare(
      {
        title: '--version, tsx entry (before the build)',
        kind: 'whole command vs whole command',
        palisade: cmd('node --import tsx installer/main.ts --version', [...tsx, '--version']),
        peer: node0,
      },
      rounds,
    ),
  );
  results.push(
    await compare(
      {
        title: 'validate (the init config), single executable',
        kind: 'whole command vs whole command',
        palisade: cmd('./palisade validate', [exe.path, 'validate', '-c', cfg]),
        peer: node0,
      },
      rounds,
    ),
  );
  results.push(
    await compare(
      {
        title: 'validate (the init config), compiled entry',
        kind: 'whole command vs whole command',
        palisade: cmd('node installer/bin/palisade.js validate', [...compiled, 'validate', '-c', cfg]),
        peer: node0,
      },
      rounds,
    ),
  );
  const size = (await stat(exe.path)).size;
  const exeMedian = results[0]?.palisadeSeconds ?? Number.NaN;
  await report(
    'Start-up',
    results,
    {
      'single executable size': `${(size / MiB).toFixed(1)} MiB (${size} bytes; Node ${process.version} is ~${((await stat(process.execPath)).size / MiB).toFixed(0)} MiB of it)`,
      'single executable --version under 0.2 s (aim)': exeMedian < 0.2 ? `yes (${exeMedian.toFixed(3)} s)` : `no (${exeMedian.toFixed(3)} s)`,
    },
    values.json,
  );
} finally {
  await rm(work, { recursive: true, force: true });
}
