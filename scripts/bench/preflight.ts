/**
 * Preflight scaling on lab hosts. Headline, whole command against whole command at 1, 3 and
 * 10 hosts: `palisade preflight --host … --output json` against OpenSSH running the same probe
 * script on the same hosts at once (`xargs -P N ssh HOST sh -s < probe.sh`), with and without
 * the disk-latency probe. Apart from that, the admin side's own CPU time: the palisade
 * process's user + system CPU (GNU time; the hosts' work runs in their own processes, so it
 * is not in it) fitted against the host count, and, in this process, process.cpuUsage() around
 * connect, probe and checks, per host, so the admin side's cost at 100 hosts can be projected.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { loadConfig } from '../../installer/config/load.ts';
import { gatherFacts } from '../../installer/facts/index.ts';
import { localFacts } from '../../installer/facts/local.ts';
import { probeScript } from '../../installer/facts/probe.ts';
import type { HostFacts } from '../../installer/facts/types.ts';
import { closeAll, connectHosts } from '../../installer/hosts/index.ts';
import type { RemoteHost } from '../../installer/hosts/types.ts';
import { evaluate, type PreflightReport } from '../../installer/preflight/report.ts';
import { REPO_ROOT } from '../bundle/build-test-bundle.ts';
import { benchArgs, compare, type ComparisonResult, fmt, median, PALISADE, report, runCommand, type Sample } from './harness.ts';
import { benchLab } from './lab-env.ts';

const values = benchArgs(
  `usage: node --import tsx scripts/bench/preflight.ts [--hosts 1,3,10] [--dir DIR] [--keep] [--rounds 3]

Brings up a lab with as many hosts as the largest count in DIR (default
.cache/labs/bench-preflight; a lab already up there or in PALISADE_LAB_DIR with enough hosts is
used and left up), then per host count: palisade preflight against the OpenSSH probe, with and
without the disk probe, and the admin side's CPU time per host (whole command, and connect /
probe / checks in process). Takes the lab down at the end unless --keep.`,
  {
    hosts: { type: 'string', default: '1,3,10' },
    dir: { type: 'string', default: join(REPO_ROOT, '.cache/labs/bench-preflight') },
    keep: { type: 'boolean', default: false },
  },
);
const rounds = Number(values.rounds);
const counts = values.hosts
  .split(',')
  .map(Number)
  .sort((a, b) => a - b);
const largest = counts[counts.length - 1] ?? 1;

const cpuNow = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

const lab = await benchLab(largest, { dir: resolve(values.dir), keep: values.keep });
const work = join(lab.info.dir, 'bench-preflight');
try {
  await mkdir(join(work, 'out'), { recursive: true });
  const cfgPath = lab.info.configPath;
  const { config, baseDir } = await loadConfig(cfgPath);
  const names = config.hosts.map((h) => h.name).slice(0, largest);
  const disk = config.hosts[0]?.dataDisk ?? '/dev/vdb';
  const probes = {
    disk: join(work, 'probe.sh'),
    noDisk: join(work, 'probe-no-disk.sh'),
  };
  await writeFile(probes.disk, probeScript({ fqdn: config.cluster.fqdn, dataDisk: disk }));
  await writeFile(probes.noDisk, probeScript({ fqdn: config.cluster.fqdn, dataDisk: disk, diskLatency: false }));

  // SSH round trips per host, counted on the code path preflight uses
  const { hosts: counted } = await connectHosts(config, baseDir, { only: names.slice(0, Math.min(3, names.length)) });
  const trips: number[] = [];
  for (const h of counted.values()) {
    let n = 0;
    const counting: RemoteHost = {
      name: h.name,
      address: h.address,
      exec: (c, o) => {
        n++;
        return h.exec(c, o);
      },
      upload: (a, b, c) => h.upload(a, b, c),
      close: () => h.close(),
    };
    await gatherFacts(counting, { fqdn: config.cluster.fqdn, dataDisk: disk, diskLatency: false });
    trips.push(n);
  }
  await closeAll(counted);

  const palisade = (n: number, diskProbe: boolean) => ({
    label: `palisade preflight -c palisade.yaml${names
      .slice(0, n)
      .map((h) => ` --host ${h}`)
      .join('')}${diskProbe ? '' : ' --no-disk-probe'} --output json`,
    run: async (): Promise<Sample> => {
      const r = await runCommand(
        [
          process.execPath,
          PALISADE,
          'preflight',
          '-c',
          cfgPath,
          ...names.slice(0, n).flatMap((h) => ['--host', h]),
          ...(diskProbe ? [] : ['--no-disk-probe']),
          '--output',
          'json',
        ],
        { check: false },
      );
      let rep: PreflightReport;
      try {
        rep = JSON.parse(r.stdout) as PreflightReport;
      } catch {
        throw new Error(`preflight printed no report (exit ${r.code}):\n${r.stderr.slice(-2000)}`);
      }
      const hosts = rep.hosts.filter((h) => h.role !== 'admin');
      const bad = hosts.filter((h) => !h.reachable);
      if (hosts.length !== n || bad.length)
        throw new Error(`preflight reached ${hosts.length - bad.length} of ${n} hosts: ${bad.map((h) => `${h.name} ${h.error?.message}`).join('; ')}`);
      return { seconds: r.seconds, extra: { cpuSeconds: r.cpuSeconds, peakRssMiB: r.maxRss / 2 ** 20, workSeconds: rep.durationMs / 1000 } };
    },
  });
  const openssh = (n: number, diskProbe: boolean) => {
    const probe = diskProbe ? probes.disk : probes.noDisk;
    const list = join(work, `hosts-${n}.txt`);
    return {
      label: `xargs -P${n} -I{} sh -c 'ssh -F ssh_config {} sh -s < ${diskProbe ? 'probe.sh' : 'probe-no-disk.sh'} > out/{}'`,
      run: async (): Promise<Sample> => {
        await writeFile(list, names.slice(0, n).join('\n') + '\n');
        await rm(join(work, 'out'), { recursive: true, force: true });
        await mkdir(join(work, 'out'));
        const r = await runCommand(`xargs -P${n} -I{} sh -c 'ssh -F ${lab.info.sshConfigPath} {} sh -s < ${probe} > ${join(work, 'out')}/{}' < ${list}`);
        for (const h of names.slice(0, n)) {
          if (!(await readFile(join(work, 'out', h), 'utf8')).includes('==== end ====')) throw new Error(`${h}: the OpenSSH probe did not finish`);
        }
        return { seconds: r.seconds, extra: { cpuSeconds: r.cpuSeconds } };
      },
    };
  };

  const results: ComparisonResult[] = [];
  for (const n of counts) {
    results.push(
      await compare(
        {
          title: `preflight, ${n} host${n === 1 ? '' : 's'}`,
          kind: 'whole command vs whole command',
          palisade: palisade(n, true),
          peer: openssh(n, true),
          ...(n === 10 ? { aim: { max: 1 } } : {}),
        },
        rounds,
      ),
    );
  }
  for (const n of counts) {
    results.push(
      await compare(
        {
          title: `preflight, ${n} host${n === 1 ? '' : 's'}, no disk probe`,
          kind: 'whole command vs whole command',
          palisade: palisade(n, false),
          peer: openssh(n, false),
        },
        rounds,
      ),
    );
  }

  // the admin side's CPU, in this process: connect, probe (the facts of every host at once),
  // checks (evaluate), and the admin machine's own facts (once per run, whatever the host count)
  const phases: Array<{ n: number; connect: number; probe: number; checks: number; admin: number }> = [];
  for (const n of counts) {
    const per: Array<{ connect: number; probe: number; checks: number; admin: number }> = [];
    for (let r = 0; r < rounds; r++) {
      const only = names.slice(0, n);
      let c0 = cpuNow();
      const { hosts, failures } = await connectHosts(config, baseDir, { only });
      if (failures.length) throw new Error(`cannot reach ${failures.map((f) => f.name).join(', ')}`);
      const connect = cpuNow() - c0;
      c0 = cpuNow();
      const facts = await Promise.all(
        only.map(
          async (name) =>
            [name, await gatherFacts(hosts.get(name) as RemoteHost, { fqdn: config.cluster.fqdn, dataDisk: disk, diskLatency: false })] as [string, HostFacts],
        ),
      );
      const probe = cpuNow() - c0;
      await closeAll(hosts);
      c0 = cpuNow();
      const adminFacts = await localFacts({ fqdn: config.cluster.fqdn });
      const admin = cpuNow() - c0;
      const m = new Map(facts);
      c0 = cpuNow();
      evaluate({
        config,
        hosts: config.hosts.filter((h) => only.includes(h.name)).map((h) => ({ config: h, facts: m.get(h.name) as HostFacts })),
        admin: adminFacts,
      });
      const checks = cpuNow() - c0;
      per.push({ connect, probe, checks, admin });
    }
    const med = (k: 'connect' | 'probe' | 'checks' | 'admin'): number => median(per.map((p) => p[k]));
    phases.push({ n, connect: med('connect'), probe: med('probe'), checks: med('checks'), admin: med('admin') });
  }

  const whole = results.slice(0, counts.length);
  const wholeCpu = (i: number): number => whole[i]?.extra['palisade.cpuSeconds'] ?? Number.NaN;
  const byN = (i: number): string => `${counts[i]} host${counts[i] === 1 ? '' : 's'}`;
  const last = phases.at(-1) as (typeof phases)[number];
  const perHost = (last.connect + last.probe + last.checks) / last.n;
  const ms = (s: number): string => fmt(s * 1000, 1);
  const notes: Record<string, string> = {
    'SSH round trips per host for facts': [...new Set(trips)].join(', '),
    'admin-side CPU of the whole palisade command (user + system, GNU time, median)': whole.map((_, i) => `${byN(i)} ${fmt(wholeCpu(i), 2)} s`).join(', '),
    "the OpenSSH clients' CPU, same hosts": whole.map((r, i) => `${byN(i)} ${fmt(r.extra['peer.cpuSeconds'] ?? Number.NaN, 2)} s`).join(', '),
    "admin-side CPU in process per host: connect / probe / checks (ms per host), and the admin machine's own facts (ms, once per run)": phases
      .map((p) => `${p.n} host${p.n === 1 ? '' : 's'}: ${ms(p.connect / p.n)} / ${ms(p.probe / p.n)} / ${ms(p.checks / p.n)}, admin ${ms(p.admin)}`)
      .join('; '),
    'projected admin-side CPU for 100 hosts': `the whole command at ${last.n} hosts (${fmt(wholeCpu(counts.length - 1), 2)} s) + ${100 - last.n} × ${ms(perHost)} ms = ${fmt(wholeCpu(counts.length - 1) + (100 - last.n) * perHost, 2)} CPU-s on one core (the checks are one thread; the hosts probe in parallel, ssh.concurrency at a time)`,
    lab: `${names.length} lab hosts (systemd-nspawn on this machine's cores, so the hosts' probes share the admin side's 2 cores); ssh.concurrency ${config.ssh.concurrency}`,
  };
  await report('Preflight', results, notes, values.json);
} finally {
  await rm(work, { recursive: true, force: true });
  await lab.release();
}
