// One palisade upload as its own process (compiled by scripts/bench/upload.ts, like the
// program): connect with the pinned host key, upload (SFTP to a temp name, SHA-256 checked
// on the host, renamed into place), close. Argument: JSON { target, src, dst }.
import { connectHost } from '../../installer/hosts/index.ts';
import type { HostTarget } from '../../installer/hosts/target.ts';

const { target, src, dst } = JSON.parse(process.argv[2] ?? '{}') as { target: HostTarget; src: string; dst: string };
void (async () => {
  const h = await connectHost(target);
  await h.upload(src, dst, { mode: 0o644 });
  await h.close();
})().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(1);
});
