import type { Duplex } from 'node:stream';

/**
 * The SSH transport's public API. Everything that works on a host (facts,
 * encryption, registry service, cluster driver) takes a `RemoteHost`, so tests
 * and phases can hand in any implementation.
 */
export interface ExecOptions {
  /** run through sudo when the session user is not root (sudo -S, password on stdin when needed) */
  sudo?: boolean;
  /** bytes written to the command's stdin, then stdin is closed (use this for secrets) */
  stdin?: string | Buffer;
  /** per-command timeout; default from config ssh.commandTimeoutSeconds */
  timeoutMs?: number;
  /** streamed output, as it arrives */
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  /** throw a PalisadeError (code ssh.exec) when the exit code is not 0 */
  check?: boolean;
  signal?: AbortSignal;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface UploadOptions {
  /** final file mode, e.g. 0o600 */
  mode?: number;
  /** write as root (through sudo) when the session user is not */
  sudo?: boolean;
  /** owner to chown to, e.g. "root:root" */
  owner?: string;
  /**
   * the SHA-256 (hex) the content must have, e.g. a bundle file's signed digest:
   * the bytes are hashed as they stream, and a source that differs is refused
   * and never put in place (the host checks the same digest)
   */
  sha256?: string;
  /** bytes the host has acknowledged so far, of the total (progress of a long upload) */
  onProgress?: (sentBytes: number, totalBytes: number) => void;
}

/** A file being read from a host (see RemoteHost.download). */
export interface RemoteFile {
  size: number;
  stream: import('node:stream').Readable;
  /** SHA-256 of the file as the host computed it before sending */
  sha256: string;
  /** remove what was staged on the host; call once the stream is read (or abandoned) */
  close(): Promise<void>;
}

export interface RemoteHost {
  /** the host's name in palisade.yaml */
  readonly name: string;
  readonly address: string;
  /** run one shell command line (build it with core/quote.ts `sh`) */
  exec(command: string, opts?: ExecOptions): Promise<ExecResult>;
  /**
   * Upload to a temporary name over SFTP, verify SHA-256 on the host, then
   * rename into place with the mode asked for. `source` is a local path or the bytes.
   */
  upload(source: string | Buffer, remotePath: string, opts?: UploadOptions): Promise<void>;
  /**
   * A TCP stream to `port` on `host` as this host sees it (default its own
   * loopback, 127.0.0.1), carried by the SSH connection: reaches services on a
   * host that is only reachable through the jump host. Optional: transports
   * without it cannot tunnel.
   */
  openTunnel?(port: number, host?: string): Promise<Duplex>;
  /**
   * Read a file over SFTP, streamed; with `sudo`, a root-only file is first copied (0600) to a
   * private directory of the session user. The caller checks the bytes against `sha256`.
   * Optional: transports without it cannot bring files back.
   */
  download?(remotePath: string, opts?: { sudo?: boolean }): Promise<RemoteFile>;
  close(): Promise<void>;
}
