// The registry part of one backup as its own process (compiled by scripts/bench/backup.ts,
// like the program): the registry index, then every manifest and blob streamed through the
// writer `palisade backup --with-registry` uses (tar, age encryption to a recipient, a temp
// file renamed at the end). Argument: JSON { url, ca, user, passwordFile, recipient, out }.
// Prints JSON { bytes, blobs } when done.
import { readFile } from 'node:fs/promises';
import { addRegistryBlobs, registryIndex } from '../../installer/backup/collect.ts';
import { BACKUP_FORMAT, MEMBERS } from '../../installer/backup/format.ts';
import { BackupWriter } from '../../installer/backup/writer.ts';
import { RegistryClient } from '../../installer/registry/client.ts';

const o = JSON.parse(process.argv[2] ?? '{}') as { url: string; ca: string; user: string; passwordFile: string; recipient: string; out: string };
void (async () => {
  const client = new RegistryClient({
    url: o.url,
    ca: await readFile(o.ca, 'utf8'),
    username: o.user,
    password: (await readFile(o.passwordFile, 'utf8')).trim(),
  });
  const reg = await registryIndex(client);
  const w = await BackupWriter.create(o.out, { recipients: [o.recipient] });
  const header = {
    apiVersion: BACKUP_FORMAT,
    cluster: 'bench',
    fqdn: 'bench.internal',
    createdAt: new Date().toISOString(),
    takenFrom: { admin: 'bench', controller: 'none' },
    versions: { palisade: '0' },
    withRegistry: true,
    hosts: [],
    snapshot: { member: MEMBERS.snapshot('none'), name: 'none' },
    luksHeaders: [],
  } as const;
  await w.addBuffer(MEMBERS.header, JSON.stringify(header));
  await addRegistryBlobs(w, client, reg);
  await w.addBuffer(MEMBERS.registryIndex, JSON.stringify(reg.index));
  const done = await w.finish({ ...header, hosts: [], luksHeaders: [] });
  client.close();
  process.stdout.write(`${JSON.stringify({ bytes: done.bytes, blobs: reg.index.blobs.length })}\n`);
})().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(1);
});
