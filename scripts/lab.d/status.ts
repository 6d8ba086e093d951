/** `scripts/lab status`: each recorded process alive, each host answering SSH, each data disk attached. */
import { join } from 'node:path';
import { sshRun } from './ssh.ts';
import { loopsOf, readState } from './state.ts';
import { procAlive, readJson } from './sys.ts';
import type { LabInfo } from './types.ts';

export async function status(dir: string, json: boolean): Promise<void> {
  const state = readState(dir);
  const info = readJson<LabInfo>(join(dir, 'lab.json'));
  if (!state) {
    if (json) process.stdout.write(`${JSON.stringify({ dir, up: false, hosts: [] })}\n`);
    else process.stdout.write(`no lab in ${dir}\n`);
    return;
  }
  const procs = state.resources.filter((r) => r.kind === 'process') as { what: string; pid: number; start: string }[];
  const alive = (what: string) => procs.some((p) => p.what === what && procAlive(p.pid, p.start));
  const infoHosts = info?.hosts ?? [];
  const reach = await Promise.all(infoHosts.map((h) => sshRun(info!.sshConfigPath, h.name, 'true', 3)));
  const attached = await Promise.all(infoHosts.map(async (h) => (await loopsOf(join(dir, 'hosts', h.name, 'disk.img'))).includes(h.loopDevice)));
  const hosts = infoHosts.map((h, i) => ({
    name: h.name,
    address: h.address,
    role: h.role,
    behind: h.behind,
    running: alive(`${h.name} nspawn`),
    ssh: reach[i]!,
    loopDevice: h.loopDevice,
    loopAttached: attached[i]!,
    tpm: h.tpm ? alive(`${h.name} swtpm`) : undefined,
  }));
  const tang = (info?.services.tang ?? []).map((t, i) => ({ url: t.url, running: alive(`tang${i}`) }));
  const ntp = info?.services.ntp ? { address: info.services.ntp, running: alive('ntp') } : undefined;
  const up = !!info && hosts.every((h) => h.running && h.ssh);
  if (json) {
    process.stdout.write(`${JSON.stringify({ dir, up, slot: state.slot, subnet: info?.subnet, hosts, tang, ntp }, null, 2)}\n`);
    return;
  }
  process.stdout.write(
    `lab ${dir}: ${info ? (up ? 'up' : 'DEGRADED') : 'incomplete (a run was stopped halfway; `lab up` or `lab down` clears it)'}, slot ${state.slot}${info ? `, ${info.subnet}` : ''}\n`,
  );
  for (const h of hosts) {
    process.stdout.write(
      `  ${h.name.padEnd(7)} ${h.address.padEnd(13)} ${h.role.padEnd(10)} ${h.running ? 'running' : 'STOPPED'}  ssh ${h.ssh ? 'ok' : 'NO'}  disk ${h.loopDevice}${h.loopAttached ? '' : ' (detached!)'}${h.tpm === undefined ? '' : `  tpm ${h.tpm ? 'ok' : 'DOWN'}`}${h.behind ? `  behind ${h.behind}` : ''}\n`,
    );
  }
  for (const t of tang) process.stdout.write(`  tang    ${t.url}  ${t.running ? 'running' : 'STOPPED'}\n`);
  if (ntp) process.stdout.write(`  ntp     ${ntp.address}  ${ntp.running ? 'running' : 'STOPPED'}\n`);
  if (!up) process.exitCode = 1;
}
