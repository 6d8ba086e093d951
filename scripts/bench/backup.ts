import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { addRegistryBlobs, registryIndex } from '../../installer/backup/collect.ts';
import { BACKUP_FORMAT, MEMBERS } from '../../installer/backup/format.ts';
import { BackupWriter } from '../../installer/backup/writer.ts';
import { RegistryClient } from '../../installer/registry/client.ts';
import { makeTestPki, startRegistry } from '../../test/fixtures/bundle/harness.ts';
import { buildTestBundle } from '../bundle/build-test-bundle.ts';
import { MiB, fmt, must, palisadeArgs, timed } from './seed-env.ts';

/**
 * Backup of a registry: peak RSS while `--with-registry` archives about
 * --size-mib of registry content. Seeds a real CNCF registry on 127.0.0.1 from
 * a generated bundle, then a child process runs the backup's registry part (the
 * index, then every manifest and blob through the same writer `palisade backup`
 * uses: tar, age encryption, temp file and rename) and reports its peak RSS,
 * time and file size. A child of its own, so the bundle build does not count.
 */
const { values } = parseArgs({ options: { 'size-mib': { type: 'string', default: '1024' }, child: { type: 'string' }, json: { type: 'string' } } });

if (values.child) {
  const o = JSON.parse(values.child) as { url: string; ca: string; out: string };
  const t0 = performance.now();
  const client = new RegistryClient({ url: o.url, ca: await readFile(o.ca, 'utf8'), username: 'bench', password: 'bench-password-123' });
  const reg = await registryIndex(client);
  const w = await BackupWriter.create(o.out, { passphrase: 'bench passphrase 1234' });
  const header = { apiVersion: BACKUP_FORMAT, cluster: 'bench', fqdn: 'bench.internal', createdAt: new Date().toISOString(), takenFrom: { admin: 'bench', controller: 'none' }, versions: { palisade: '0' }, withRegistry: true, hosts: [], snapshot: { member: MEMBERS.snapshot('none'), name: 'none' }, luksHeaders: [] } as const;
  await w.addBuffer(MEMBERS.header, JSON.stringify(header));
  await addRegistryBlobs(w, client, reg);
  await w.addBuffer(MEMBERS.registryIndex, JSON.stringify(reg.index));
  const done = await w.finish({ ...header, hosts: [], luksHeaders: [] });
  client.close();
  process.stdout.write(`${JSON.stringify({ seconds: (performance.now() - t0) / 1000, bytes: done.bytes, blobs: reg.index.blobs.length, rss: process.resourceUsage().maxRSS * 1024 })}\n`);
  process.exit(0);
}

const workDir = await mkdtemp(join(tmpdir(), 'palisade-bench-backup-'));
try {
  const size = Number(values['size-mib']);
  const layerSize = Math.ceil((size * MiB) / (8 * 3 + 2));
  process.stderr.write(`building ${size} MiB of images...\n`);
  const tb = await buildTestBundle({ workDir: join(workDir, 'bundle'), images: 8, layers: 4, layerSize });
  const pki = await makeTestPki(join(workDir, 'pki'));
  const reg = await startRegistry({ dir: join(workDir, 'reg'), pki, users: { bench: 'bench-password-123' } });
  try {
    const pw = join(workDir, 'pw');
    await writeFile(pw, 'bench-password-123', { mode: 0o600 });
    const seed = await palisadeArgs(workDir, ['registry', 'seed', '--bundle', tb.path, '--trusted-key', tb.publicKeyPath, '--registry', reg.url, '--ca', pki.caFile, '--username', 'bench', '--password-file', pw]);
    must(await timed(process.execPath, seed.args), 'seed');
    const out = join(workDir, 'bench.backup.age');
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, '--child', JSON.stringify({ url: reg.url, ca: pki.caFile, out })], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (c: Buffer) => (text += c.toString()));
    const code = await new Promise<number>((r) => child.on('exit', (c) => r(c ?? 1)));
    if (code !== 0) throw new Error(`the backup child failed (exit ${code})`);
    const r = JSON.parse(text) as { seconds: number; bytes: number; blobs: number; rss: number };
    const load = (await readFile('/proc/loadavg', 'utf8')).trim();
    const result = { sizeMiB: size, fileMiB: r.bytes / MiB, seconds: r.seconds, peakRssMiB: r.rss / MiB, blobs: r.blobs, load, onDisk: (await stat(out)).size };
    process.stdout.write(`backup --with-registry of ${size} MiB: ${fmt(result.fileMiB, 0)} MiB file, ${fmt(r.seconds, 1)} s, peak RSS ${fmt(result.peakRssMiB, 0)} MiB (load ${load})\n`);
    if (values.json) await writeFile(values.json, `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await reg.stop();
  }
} finally {
  await rm(workDir, { recursive: true, force: true });
}
