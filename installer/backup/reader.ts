/**
 * Reads a backup file from start to end: decrypts it as it streams, hands each
 * member to the caller while hashing it, and at the end holds every member to
 * the manifest (size, SHA-256, nothing missing, nothing extra). A member is
 * only trustworthy once readBackup has resolved: callers that keep members
 * (restore) write them to a private directory and use them afterwards.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform, Writable, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { PalisadeError } from '../core/errors.ts';
import { decryptStream, type OpenKey } from './age.ts';
import { headerSchema, manifestSchema, MEMBERS, unsafeMemberPath, type BackupHeader, type BackupManifest, type MemberRecord } from './format.ts';

/** the header and the manifest are small JSON; anything bigger is not ours */
const MAX_JSON = 16 << 20;

export type MemberSink = (member: { path: string; size: number }, data: Readable) => Promise<void>;

export interface ReadResult {
  header: BackupHeader;
  manifest: BackupManifest;
  /** the members as found (in order), hashed while read */
  members: MemberRecord[];
  bytes: number;
}

async function collect(s: Readable, limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of s) {
    n += (c as Buffer).length;
    if (n > limit) throw new Error('too large');
    parts.push(c as Buffer);
  }
  return Buffer.concat(parts);
}

class Hasher extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }
}

const drain = (): Writable => new Writable({ write: (_c, _e, cb) => cb() });

function bad(what: string, message: string): PalisadeError {
  return new PalisadeError('backup.manifest', `${what}: ${message}; nothing was restored`, {
    hint: 'the file is not a complete palisade backup: use another copy',
  });
}

export async function readBackup(path: string, key: OpenKey, sink?: MemberSink): Promise<ReadResult> {
  const what = path;
  const source = createReadStream(path);
  const opened = await decryptStream(source, key, what);
  const extract = tar.extract();
  const members: MemberRecord[] = [];
  let header: BackupHeader | undefined;
  let manifest: BackupManifest | undefined;
  const feeding = pipeline(opened.plain, extract).catch((e: unknown) => {
    throw opened.explain(e);
  });
  feeding.catch(() => undefined);
  try {
    for await (const entry of extract) {
      const name = entry.header.name;
      if (manifest) throw bad(what, `member ${name} comes after the manifest`);
      if (entry.header.type !== 'file' || unsafeMemberPath(name)) throw bad(what, `member ${JSON.stringify(name)} is not a plain file inside the archive`);
      if (name === MEMBERS.manifest) {
        const text = (await collect(entry as unknown as Readable, MAX_JSON)).toString('utf8');
        const m = manifestSchema.safeParse(JSON.parse(text));
        if (!m.success) throw bad(what, 'its manifest is not one palisade writes');
        manifest = m.data;
        continue;
      }
      if (!header && name !== MEMBERS.header) throw bad(what, `the first member is ${name}, not ${MEMBERS.header}`);
      const h = new Hasher();
      let ended = false;
      entry.on('end', () => (ended = true));
      entry.on('error', (e: Error) => h.destroy(e));
      entry.on('close', () => {
        if (!ended) h.destroy(new Error(`member ${name} cut short`));
      });
      entry.pipe(h);
      if (name === MEMBERS.header) {
        const buf = await collect(h, MAX_JSON);
        const parsed = headerSchema.safeParse(JSON.parse(buf.toString('utf8')));
        if (!parsed.success) throw bad(what, `its header is not one this palisade reads (${parsed.error.issues[0]?.path.join('.') ?? '?'})`);
        header = parsed.data;
      } else if (sink) {
        await sink({ path: name, size: entry.header.size ?? 0 }, h);
      } else {
        await pipeline(h, drain());
      }
      members.push({ path: name, size: h.bytes, sha256: h.hash.digest('hex') });
    }
    await feeding;
  } catch (e) {
    source.destroy();
    if (e instanceof PalisadeError) throw e;
    // a decryption failure explains a tar or JSON failure that follows from it
    const settled = await feeding.then(
      () => undefined,
      (x: unknown) => x,
    );
    if (settled instanceof PalisadeError && settled.code !== 'backup.read') throw settled;
    if (e instanceof SyntaxError) throw bad(what, 'a JSON member does not parse');
    throw opened.explain(e);
  }
  if (!header) throw bad(what, 'it has no header');
  if (!manifest)
    throw new PalisadeError('backup.truncated', `${what}: the backup is truncated (it ends before its manifest); nothing was restored`, {
      hint: 'use another copy',
    });
  checkAgainstManifest(what, members, manifest);
  return { header, manifest, members, bytes: source.bytesRead };
}

export function checkAgainstManifest(what: string, found: readonly MemberRecord[], manifest: BackupManifest): void {
  const want = new Map(manifest.members.map((m) => [m.path, m]));
  const problems: string[] = [];
  for (const f of found) {
    const w = want.get(f.path);
    if (!w) problems.push(`${f.path}: not in the manifest`);
    else if (w.size !== f.size || w.sha256 !== f.sha256)
      problems.push(`${f.path}: ${w.size !== f.size ? `${f.size} bytes, the manifest says ${w.size}` : 'SHA-256 differs from the manifest'}`);
    want.delete(f.path);
  }
  for (const m of want.keys()) problems.push(`${m}: in the manifest, missing from the archive`);
  if (problems.length) {
    throw new PalisadeError('backup.manifest', `${what}: ${problems.length} member(s) do not match the manifest; nothing was restored`, {
      details: problems.map((p) => ({ message: p })),
      hint: 'use another copy of the backup',
    });
  }
}
