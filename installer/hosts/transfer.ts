/**
 * Files to and from a host over one SSH connection's SFTP session. An upload
 * goes to a temporary name (or, through sudo, a private staging directory),
 * its SHA-256 is checked on the host, and only then is it renamed into place
 * with its mode and owner: a file that matters is never seen half-written.
 */
import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { posix } from 'node:path';
import type { SFTPWrapper } from 'ssh2';
import { PalisadeError, usageError } from '../core/errors.ts';
import { shq, sh } from '../core/quote.ts';
import { lastLines } from './errors.ts';
import { CONNECTION_LOST, put, WRITE_CHUNK } from './sftp-put.ts';
import type { ExecOptions, ExecResult, RemoteFile, UploadOptions } from './types.ts';

/** exit code of the upload script when the digest on the host differs */
const DIGEST_MISMATCH = 86;

/** What a transfer needs of the SSH session it runs on. */
export interface TransferSession {
  readonly name: string;
  readonly user: string;
  readonly commandTimeoutMs: number;
  /** a short command as the login user, never through sudo (staging directories) */
  plain(line: string, shown: string): Promise<ExecResult>;
  exec(command: string, opts: ExecOptions): Promise<ExecResult>;
  sftp(): Promise<SFTPWrapper>;
}

/**
 * SFTP to a temporary name (0600), verify SHA-256 on the host, then rename into
 * place with the mode and owner asked for. As a non-root user with `sudo`, the
 * bytes go to a private directory under /tmp (0700) and root installs them.
 */
export async function uploadFile(s: TransferSession, source: string | Buffer, remotePath: string, opts: UploadOptions = {}): Promise<void> {
  if (!remotePath.startsWith('/')) throw usageError('ssh.upload-path', `upload to ${s.name}: the remote path must be absolute, not "${remotePath}"`);
  const mode = (opts.mode ?? 0o644) & 0o7777;
  const viaSudo = opts.sudo === true && s.user !== 'root';
  const dir = posix.dirname(remotePath);
  const tmpName = `.${posix.basename(remotePath)}.palisade-${randomBytes(6).toString('hex')}.tmp`;
  const shown = typeof source === 'string' ? source : `${source.length} bytes`;
  let total = typeof source === 'string' ? 0 : source.length;
  if (typeof source === 'string') {
    const st = await stat(source).catch(() => undefined);
    if (!st?.isFile()) throw usageError('ssh.upload-source', `upload to ${s.name}: ${source} is not a readable file`);
    total = st.size;
  }
  const sftp = await s.sftp();
  let staging: string | undefined;
  try {
    let sent: string;
    if (viaSudo) {
      const d = await s.plain('mktemp -d /tmp/palisade-upload.XXXXXXXXXX', 'mktemp -d');
      staging = d.stdout.trim();
      if (d.code !== 0 || !staging.startsWith('/tmp/'))
        throw new PalisadeError('ssh.upload', `${s.name}: cannot create a private staging directory under /tmp: ${lastLines(d.stderr, 2)}`);
      sent = `${staging}/data`;
    } else {
      sent = posix.join(dir, tmpName);
    }
    const digest = await put(sftp, source, sent, opts.onProgress ? { total, onProgress: opts.onProgress } : undefined).catch(
      async (e: Error & { code?: unknown }) => {
        const missing = e.code === 2 || /No such file/i.test(e.message);
        const denied = e.code === 3 || /Permission denied/i.test(e.message);
        // ssh2 answers the writes pending when the connection drops with "No response from server"
        const lost = e.message === CONNECTION_LOST || /No response from server/.test(e.message);
        // a write that failed (a full disk) leaves part of the file under its temporary name; over a
        // lost connection nothing can remove it now, and the next upload of the same path does
        if (!viaSudo && !lost && !missing) await s.plain(sh`rm -f -- ${sent}`, 'rm upload').catch(() => undefined);
        throw new PalisadeError(
          'ssh.upload',
          `${s.name}: cannot write ${viaSudo ? sent : remotePath} over SFTP: ${missing ? `directory ${dir} does not exist` : denied ? `permission denied for user ${s.user}` : lost ? CONNECTION_LOST : e.message}`,
          {
            hint: missing
              ? `create ${dir} on the host first`
              : denied
                ? 'upload with sudo: true, or connect as a user that may write there'
                : lost
                  ? 'check the network path to the host, then run the same command again'
                  : 'check free space on the host',
          },
        );
      },
    );
    const tmp = posix.join(dir, tmpName);
    if (opts.sha256 !== undefined && digest !== opts.sha256) {
      await s.plain(sh`rm -f -- ${sent}`, 'rm upload').catch(() => undefined);
      throw new PalisadeError(
        'ssh.upload-source-changed',
        `${s.name}: ${shown} is not what was verified (SHA-256 ${digest.slice(0, 12)}…, expected ${opts.sha256.slice(0, 12)}…); ${remotePath} was not put in place`,
        {
          hint: 'the file changed after it was verified: check the bundle with `palisade bundle verify` and run again',
        },
      );
    }
    const owner = opts.owner ? `chown -- ${shq(opts.owner)} "$t"` : '';
    const script = [
      'set -e',
      `t=${shq(tmp)}`,
      `trap 'rm -f -- "$t"' EXIT`,
      viaSudo ? sh`install -m 600 -- ${sent} "$t"` : '',
      // SHA-256 on the host: openssl where present (SHA extensions: several times faster), else coreutils
      `if command -v openssl >/dev/null 2>&1; then got=$(openssl dgst -sha256 -r < "$t" | cut -d' ' -f1); else got=$(sha256sum < "$t" | cut -d' ' -f1); fi`,
      `if [ "$got" != ${shq(digest)} ]; then echo "SHA-256 on the host is $got" >&2; exit ${DIGEST_MISMATCH}; fi`,
      owner,
      `chmod ${mode.toString(8).padStart(4, '0')} "$t"`,
      sh`mv -f -- "$t" ${remotePath}`,
      // what an earlier upload of this path left when its connection was cut (the host lock keeps
      // any other upload of it from running now)
      `rm -f -- ${shq(`${dir}/.${posix.basename(remotePath)}.palisade-`)}*.tmp`,
    ]
      .filter(Boolean)
      .join('\n');
    const r = await s.exec(script, { sudo: viaSudo, timeoutMs: Math.max(s.commandTimeoutMs, 60_000) });
    if (r.code === DIGEST_MISMATCH) {
      throw new PalisadeError('ssh.upload-verify', `${s.name}: ${remotePath} arrived corrupted (SHA-256 differs from ${shown}); it was not put in place`, {
        details: [{ path: s.name, message: lastLines(r.stderr, 2) }],
        hint: 'check the disk and memory of the host, and free space; then run again',
      });
    }
    if (r.code !== 0)
      throw new PalisadeError('ssh.upload', `${s.name}: cannot put ${remotePath} in place (exit code ${r.code}): ${lastLines(r.stderr, 3)}`, {
        hint: opts.owner ? `check that the owner "${opts.owner}" exists on the host` : 'check the directory permissions on the host',
      });
  } finally {
    if (staging) await s.plain(sh`rm -rf -- ${staging}`, 'rm staging').catch(() => undefined);
  }
}

/** A file from the host as a stream, with the size and SHA-256 of the very bytes streamed. */
export async function downloadFile(s: TransferSession, remotePath: string, opts: { sudo?: boolean } = {}): Promise<RemoteFile> {
  const viaSudo = opts.sudo === true && s.user !== 'root';
  // the digest and the staged copy come from one command, so they are of the same bytes
  const script = viaSudo
    ? sh`set -e; d=$(mktemp -d /tmp/palisade-download.XXXXXXXXXX); install -m 0600 -o ${s.user} -- ${remotePath} "$d/data"; chown ${s.user} "$d"; echo "$d/data"; stat -c %s "$d/data"; sha256sum < "$d/data" | cut -d' ' -f1`
    : sh`set -e; echo ${remotePath}; stat -c %s ${remotePath}; sha256sum < ${remotePath} | cut -d' ' -f1`;
  const r = await s.exec(script, { sudo: viaSudo });
  if (r.code !== 0) throw new PalisadeError('ssh.download', `${s.name}: cannot read ${remotePath}: ${lastLines(r.stderr, 2) || `exit code ${r.code}`}`);
  const [path, size, sha256] = r.stdout
    .trim()
    .split('\n')
    .map((l) => l.trim());
  const staged = viaSudo ? posix.dirname(path!) : undefined;
  const cleanup = async () => {
    if (staged?.startsWith('/tmp/palisade-download.')) await s.plain(sh`rm -rf -- ${staged}`, 'rm staging').catch(() => undefined);
  };
  try {
    const sftp = await s.sftp();
    const stream = sftp.createReadStream(path!, { highWaterMark: WRITE_CHUNK });
    return { size: Number(size), sha256: sha256!, stream, close: cleanup };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
