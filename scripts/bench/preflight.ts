/**
 * Preflight wall time for 1, 3 and 10 lab hosts (hosts are checked in parallel), the
 * 10-host/1-host ratio, SSH round trips per host, and a peer: OpenSSH running the same
 * probe script on the same hosts at once (`ssh host sh -s < probe`, all in parallel).
 *
 *   npx tsx scripts/bench/preflight.ts [--dir DIR] [--rounds 3] [--keep]
 *
 * Brings up a 10-host lab in DIR (default .cache/labs/bench-preflight) unless one is up
 * there, and takes it down at the end unless --keep. Runs in-process (runPreflight), so the
 * figures leave out node start-up (~0.5 s per CLI run).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig } from '../../installer/config/load.ts';
import { gatherFacts } from '../../installer/facts/index.ts';
import { probeScript } from '../../installer/facts/probe.ts';
import { closeAll, connectHosts } from '../../installer/hosts/index.ts';
import type { RemoteHost } from '../../installer/hosts/types.ts';
import { runPreflight } from '../../installer/preflight/run.ts';

const repo = resolve(import.meta.dirname, '../..');
const argv = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : dflt;
};
const dir = resolve(opt('--dir', join(repo, '.cache/labs/bench-preflight')));
const rounds = Number(opt('--rounds', '3'));
const keep = argv.includes('--keep');
const lab = (args: string[]) => spawnSync(join(repo, 'scripts/lab'), args, { encoding: 'utf8', timeout: 20 * 60_000 });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (s: number) => `${s.toFixed(2)} s`;

async function main(): Promise<void> {
  const status = lab(['status', '--dir', dir, '--json']);
  let up = false;
  try {
    up = (JSON.parse(status.stdout) as { up?: boolean }).up === true;
  } catch {}
  const ownLab = !up;
  if (up) writeFileSync(join(dir, 'owner.pid'), `${process.pid}\n`);
  if (!up) {
    // global-setup of a concurrent lab test run takes down labs under .cache/labs whose owner is gone
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'owner.pid'), `${process.pid}\n`);
    const r = lab(['up', '10', '--tpm', '--dir', dir]);
    if (r.status !== 0) throw new Error(`lab up: ${r.stderr}`);
  }
  try {
    const { config, baseDir } = await loadConfig(join(dir, 'palisade.yaml'));
    const names = config.hosts.map((h) => h.name);
    const sshConfig = join(dir, 'ssh_config');
    const script = probeScript({ fqdn: config.cluster.fqdn, dataDisk: '/dev/vdb' });
    const scriptNoDisk = probeScript({ fqdn: config.cluster.fqdn, dataDisk: '/dev/vdb', diskLatency: false });

    const openssh = async (n: number, s: string): Promise<number> => {
      const t0 = performance.now();
      await Promise.all(
        names.slice(0, n).map(
          (h) =>
            new Promise<void>((res, rej) => {
              const p = spawn('ssh', ['-F', sshConfig, h, 'sh -s'], { stdio: ['pipe', 'pipe', 'ignore'] });
              let out = '';
              p.stdout.on('data', (c: Buffer) => (out += c.toString()));
              p.on('close', (code) => (code === 0 && out.includes('==== end ====') ? res() : rej(new Error(`${h}: ssh exit ${code}`))));
              p.stdin.end(s);
            }),
        ),
      );
      return (performance.now() - t0) / 1000;
    };
    const palisade = async (n: number, diskLatency: boolean): Promise<number> => {
      const t0 = performance.now();
      const r = await runPreflight({ config, baseDir, only: names.slice(0, n), diskLatency });
      const bad = r.hosts.filter((h) => h.role !== 'admin' && !h.reachable);
      if (bad.length) throw new Error(`unreachable: ${bad.map((h) => `${h.name} ${h.error?.message}`).join('; ')}`);
      return (performance.now() - t0) / 1000;
    };

    // round trips: count exec calls per host through the code path runPreflight uses
    const { hosts } = await connectHosts(config, baseDir, { only: names.slice(0, 3) });
    const trips: number[] = [];
    for (const h of hosts.values()) {
      let n = 0;
      const counting: RemoteHost = { name: h.name, address: h.address, exec: (c, o) => (n++, h.exec(c, o)), upload: (a, b, c) => h.upload(a, b, c), close: () => h.close() };
      await gatherFacts(counting, { fqdn: config.cluster.fqdn, dataDisk: '/dev/vdb', diskLatency: false });
      trips.push(n);
    }
    await closeAll(hosts);

    console.log(`preflight benchmark: ${names.length}-host lab in ${dir}, ${rounds} rounds each (median), machine: ${readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm)?.length ?? '?'} CPUs`);
    console.log(`SSH round trips per host for facts: ${[...new Set(trips)].join(', ')} (exec calls counted on ${trips.length} hosts)`);
    const rows: string[] = [];
    const results: Record<string, Record<number, number>> = { pal: {}, palNoDisk: {}, ssh: {}, sshNoDisk: {} };
    for (const n of [1, 3, 10].filter((k) => k <= names.length)) {
      const pal: number[] = [];
      const palNoDisk: number[] = [];
      const ssh: number[] = [];
      const sshNoDisk: number[] = [];
      for (let i = 0; i < rounds; i++) {
        // alternate the order so neither side always runs on a warmer machine
        if (i % 2 === 0) {
          pal.push(await palisade(n, true));
          ssh.push(await openssh(n, script));
        } else {
          ssh.push(await openssh(n, script));
          pal.push(await palisade(n, true));
        }
        palNoDisk.push(await palisade(n, false));
        sshNoDisk.push(await openssh(n, scriptNoDisk));
      }
      results.pal![n] = median(pal);
      results.palNoDisk![n] = median(palNoDisk);
      results.ssh![n] = median(ssh);
      results.sshNoDisk![n] = median(sshNoDisk);
      rows.push(`| ${n} | ${fmt(median(pal))} | ${fmt(median(ssh))} | ${(median(pal) / median(ssh)).toFixed(2)} | ${fmt(median(palNoDisk))} | ${fmt(median(sshNoDisk))} | ${(median(palNoDisk) / median(sshNoDisk)).toFixed(2)} |`);
    }
    console.log('| hosts | palisade preflight | OpenSSH probe | ratio | palisade, --no-disk-probe | OpenSSH, no disk probe | ratio |');
    console.log('|---|---|---|---|---|---|---|');
    for (const r of rows) console.log(r);
    if (results.pal![10] && results.pal![1]) {
      console.log(`10-host / 1-host: ${(results.pal![10]! / results.pal![1]!).toFixed(2)} (with the disk probe), ${(results.palNoDisk![10]! / results.palNoDisk![1]!).toFixed(2)} (without); OpenSSH: ${(results.ssh![10]! / results.ssh![1]!).toFixed(2)}, ${(results.sshNoDisk![10]! / results.sshNoDisk![1]!).toFixed(2)}`);
    }
  } finally {
    if (ownLab && !keep) lab(['down', '--dir', dir]);
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
