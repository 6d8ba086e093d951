import type { Duplex } from 'node:stream';
import type { Client, ClientChannel, SFTPWrapper } from 'ssh2';
import { PalisadeError } from '../core/errors.ts';
import { Semaphore } from '../core/limit.ts';
import { log, redact } from '../core/log.ts';
import { shq } from '../core/quote.ts';
import { directTcp } from './connect.ts';
import { lastLines, where } from './errors.ts';
import { sudoPassword, SUDO_PASSWORD_ENV } from './sudo.ts';
import type { HostTarget } from './target.ts';
import type { ExecOptions, ExecResult, RemoteFile, RemoteHost, UploadOptions } from './types.ts';
import { downloadFile, type TransferSession, uploadFile } from './transfer.ts';

/** time for the host's sshd to open a forwarded TCP connection */
const TUNNEL_TIMEOUT_MS = 15_000;
/** sessions opened at once on one connection (OpenSSH's MaxSessions defaults to 10) */
const CHANNELS_PER_HOST = 8;
const SIGNALS: Record<string, number> = { HUP: 1, INT: 2, QUIT: 3, ABRT: 6, KILL: 9, SEGV: 11, PIPE: 13, ALRM: 14, TERM: 15 };
/** first line on stderr of every command: the session shell's pid */
const PID_MARK = 'palisade-pid:';

type SudoMode = { kind: 'root' } | { kind: 'nopasswd' } | { kind: 'password'; password: string };

export interface SshHostOptions {
  commandTimeoutMs: number;
  /** called once when the host is closed (releases a shared jump connection) */
  onClose?: () => Promise<void> | void;
  env?: NodeJS.ProcessEnv;
}

const short = (cmd: string): string => {
  const one = cmd.replace(/\s+/g, ' ').trim();
  return redact.apply(one.length > 160 ? `${one.slice(0, 157)}...` : one);
};

/** A host reached over one SSH connection (ssh2 Client). */
export class SshHost implements RemoteHost {
  readonly name: string;
  readonly address: string;
  readonly user: string;
  private readonly channels = new Semaphore(CHANNELS_PER_HOST);
  private sudo?: Promise<SudoMode>;
  private sftpSession?: Promise<SFTPWrapper>;
  private closed = false;
  private readonly pendingKills = new Set<Promise<void>>();
  private readonly closeHooks: Array<() => Promise<void> | void> = [];

  constructor(
    private readonly client: Client,
    readonly target: HostTarget,
    private readonly opts: SshHostOptions,
  ) {
    this.name = target.name;
    this.address = target.address;
    this.user = target.user;
    if (opts.onClose) this.closeHooks.push(opts.onClose);
    client.on('close', () => {
      this.closed = true;
    });
  }

  /** the ssh2 connection (a jump host's is used to reach the hosts behind it) */
  get sshClient(): Client {
    return this.client;
  }

  addCloseHook(fn: () => Promise<void> | void): void {
    this.closeHooks.push(fn);
  }

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    let line = command;
    let prefix: Buffer | undefined;
    if (opts.sudo) {
      const mode = await this.sudoMode();
      if (mode.kind === 'nopasswd') line = `sudo -n -- sh -c ${shq(command)}`;
      else if (mode.kind === 'password') {
        // -k: always ask, so the password line is always consumed by sudo and never reaches the command
        line = `sudo -k -S -p '' -- sh -c ${shq(command)}`;
        prefix = Buffer.from(`${mode.password}\n`);
      }
    }
    const r = await this.run(line, command, opts, prefix, opts.sudo === true && this.user !== 'root');
    if (opts.check && r.code !== 0) throw this.execError(command, r);
    return r;
  }

  private execError(command: string, r: ExecResult): PalisadeError {
    const err = lastLines(r.stderr) || lastLines(r.stdout, 4);
    return new PalisadeError(
      'ssh.exec',
      `${this.name}: command failed with exit code ${r.code}: ${short(command)}${err ? `\n${err.replace(/^/gm, '  | ')}` : ''}`,
      {
        details: [{ path: this.name, message: `exit code ${r.code}` }],
      },
    );
  }

  /** Run one command line on a channel of its own. */
  private run(line: string, shown: string, opts: ExecOptions, stdinPrefix?: Buffer, sudo = false): Promise<ExecResult> {
    if (this.closed)
      return Promise.reject(
        new PalisadeError('ssh.disconnected', `${where(this.target)}: the SSH connection is closed`, {
          hint: 'the host may have rebooted or dropped the connection; run again',
        }),
      );
    opts.signal?.throwIfAborted();
    return this.channels.use(async () => {
      // sshd starts each session in a new session (setsid): the shell's pid is its process
      // group, which a timeout kills as a whole. The pid comes first on stderr and is cut off.
      return new Promise<ExecResult>((resolve, reject) => {
        // listeners go on in the open callback itself: a quick command's output and exit
        // status can arrive in the same read as the channel confirmation
        this.openSession(`printf '${PID_MARK}%d\\n' "$$" >&2; ${line}`, (ch) => {
          const out: Buffer[] = [];
          const errOut: Buffer[] = [];
          let head: Buffer | undefined = Buffer.alloc(0);
          let pid: number | undefined;
          let code: number | undefined;
          let signal: string | undefined;
          let settled = false;
          const timeoutMs = opts.timeoutMs ?? this.opts.commandTimeoutMs;
          const stop = (error: unknown) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            opts.signal?.removeEventListener('abort', onAbort);
            try {
              ch.signal('KILL');
            } catch {
              // not all servers take signals; the process group is killed below
            }
            ch.close();
            if (pid) this.killGroup(pid, sudo);
            reject(error);
          };
          const timer = setTimeout(() => {
            const stderr = Buffer.concat(errOut).toString('utf8');
            stop(
              new PalisadeError(
                'ssh.exec-timeout',
                `${this.name}: command timed out after ${(timeoutMs / 1000).toFixed(timeoutMs < 10_000 ? 1 : 0)} s and was stopped: ${short(shown)}`,
                {
                  hint: 'the host may be overloaded or the command hangs; raise ssh.commandTimeoutSeconds if it is just slow',
                  details: stderr ? [{ path: this.name, message: lastLines(stderr, 4) }] : [],
                },
              ),
            );
          }, timeoutMs);
          const onAbort = () => stop(opts.signal?.reason ?? new Error('aborted'));
          opts.signal?.addEventListener('abort', onAbort, { once: true });
          ch.on('data', (c: Buffer) => {
            out.push(c);
            opts.onStdout?.(c);
          });
          ch.stderr.on('data', (c: Buffer) => {
            if (head) {
              head = Buffer.concat([head, c]);
              const nl = head.indexOf(10);
              if (nl < 0) return;
              const m = new RegExp(`^${PID_MARK}(\\d+)$`).exec(head.subarray(0, nl).toString('latin1'));
              if (m) pid = Number(m[1]);
              c = m ? head.subarray(nl + 1) : head;
              head = undefined;
              if (c.length === 0) return;
            }
            errOut.push(c);
            opts.onStderr?.(c);
          });
          ch.on('exit', (c: number | null, sig?: string) => {
            if (typeof c === 'number') code = c;
            if (sig) signal = sig.replace(/^SIG/, '');
          });
          ch.on('error', (e: Error) => log.debug(`${this.name}: channel: ${e.message}`));
          ch.on('close', () => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            opts.signal?.removeEventListener('abort', onAbort);
            if (head?.length) errOut.unshift(head);
            const stdout = Buffer.concat(out).toString('utf8');
            const stderr = Buffer.concat(errOut).toString('utf8');
            if (code === undefined && signal === undefined) {
              // sshd always reports an exit status or signal: none means the connection went away
              reject(
                new PalisadeError('ssh.disconnected', `${this.name}: the SSH connection was lost while running: ${short(shown)}`, {
                  hint: 'the host may have rebooted, or the network or sshd dropped the session (keepalives found it dead); check the host, then run again',
                }),
              );
              return;
            }
            resolve({ code: code ?? (signal ? 128 + (SIGNALS[signal] ?? 0) : 255), stdout, stderr });
          });
          if (stdinPrefix) ch.write(stdinPrefix);
          if (opts.stdin !== undefined) ch.end(opts.stdin);
          else ch.end();
        }).catch(reject);
      });
    });
  }

  /**
   * Open a session channel running `line`. sshd frees a session slot a moment after the
   * channel closes, so a refused open (MaxSessions reached) is tried again a few times.
   */
  private async openSession(line: string, onOpen: (ch: ClientChannel) => void): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await new Promise<void>((resolve, reject) =>
          this.client.exec(line, (err, ch) => {
            if (err) return reject(err);
            onOpen(ch);
            resolve();
          }),
        );
      } catch (e) {
        const err = e as Error;
        if (this.closed || attempt >= 6 || !/open fail|prohibited|resource/i.test(err.message)) {
          throw new PalisadeError('ssh.channel', `${where(this.target)}: cannot start a command: ${err.message}`, {
            hint: 'the connection may have dropped, or sshd refuses more sessions (MaxSessions)',
            cause: e,
          });
        }
        await new Promise((r) => setTimeout(r, 25 * 2 ** attempt));
      }
    }
  }

  /** Stop a timed-out or aborted command and everything it started (its process group). */
  private killGroup(pid: number, sudo: boolean): void {
    const kill = this.exec(`kill -s TERM -- -${pid} 2>/dev/null; sleep 1; kill -s KILL -- -${pid} 2>/dev/null; true`, { sudo, timeoutMs: 15_000 })
      .then(
        () => undefined,
        (e: Error) => log.debug(`${this.name}: could not stop process group ${pid}: ${e.message}`),
      )
      .finally(() => this.pendingKills.delete(kill));
    this.pendingKills.add(kill);
  }

  /** How this session reaches root: as root already, sudo without password, or sudo with one. */
  private sudoMode(): Promise<SudoMode> {
    if (this.user === 'root') return Promise.resolve({ kind: 'root' });
    this.sudo ??= this.probeSudo();
    this.sudo.catch(() => (this.sudo = undefined));
    return this.sudo;
  }

  private async probeSudo(): Promise<SudoMode> {
    const probe = await this.run('sudo -k -n true', 'sudo -k -n true', { timeoutMs: 30_000 });
    if (probe.code === 0) return { kind: 'nopasswd' };
    if (probe.code === 127 || /not found/.test(probe.stderr)) {
      throw new PalisadeError('ssh.sudo-missing', `${this.name}: user "${this.user}" is not root and sudo is not installed`, {
        hint: 'install sudo on the host, or connect as root',
      });
    }
    const password = await sudoPassword(this.user, this.opts.env);
    if (!password) {
      throw new PalisadeError('ssh.sudo-password-needed', `${this.name}: sudo asks user "${this.user}" for a password`, {
        hint: `set ${SUDO_PASSWORD_ENV}, or run palisade from a terminal to be asked (or give ${this.user} NOPASSWD in sudoers)`,
      });
    }
    const check = await this.run(`sudo -k -S -p '' true`, 'sudo -k -S true', { timeoutMs: 30_000 }, Buffer.from(`${password}\n`));
    if (check.code !== 0) {
      throw new PalisadeError(
        'ssh.sudo-password',
        `${this.name}: sudo refused user "${this.user}": ${lastLines(check.stderr, 2).replace(/\n/g, ' ') || `exit code ${check.code}`}`,
        {
          hint: `check the password in ${SUDO_PASSWORD_ENV} (or typed at the prompt) and that ${this.user} may use sudo on this host`,
        },
      );
    }
    return { kind: 'password', password };
  }

  private sftp(): Promise<SFTPWrapper> {
    this.sftpSession ??= new Promise<SFTPWrapper>((resolve, reject) =>
      this.client.sftp((err, s) => {
        if (err)
          reject(
            new PalisadeError('ssh.sftp', `${where(this.target)}: cannot start SFTP: ${err.message}`, {
              hint: 'the host sshd needs the sftp subsystem (Subsystem sftp in sshd_config)',
            }),
          );
        else {
          s.on('close', () => (this.sftpSession = undefined));
          resolve(s);
        }
      }),
    );
    this.sftpSession.catch(() => (this.sftpSession = undefined));
    return this.sftpSession;
  }

  /** See hosts/transfer.ts: staged, verified on the host, put in place with its mode and owner. */
  upload(source: string | Buffer, remotePath: string, opts: UploadOptions = {}): Promise<void> {
    return uploadFile(this.transferSession(), source, remotePath, opts);
  }

  download(remotePath: string, opts: { sudo?: boolean } = {}): Promise<RemoteFile> {
    return downloadFile(this.transferSession(), remotePath, opts);
  }

  private transferSession(): TransferSession {
    return {
      name: this.name,
      user: this.user,
      commandTimeoutMs: this.opts.commandTimeoutMs,
      plain: (line, shown) => this.run(line, shown, { timeoutMs: 30_000 }),
      exec: (command, opts) => this.exec(command, opts),
      sftp: () => this.sftp(),
    };
  }

  /** direct-tcpip through this connection (not a session: does not count against MaxSessions) */
  openTunnel(port: number, host = '127.0.0.1'): Promise<Duplex> {
    if (this.closed) return Promise.reject(Object.assign(new Error(`${this.name}: the SSH connection is closed`), { code: 'ECONNRESET' }));
    return directTcp(this.client, host, port, TUNNEL_TIMEOUT_MS, `${this.name} (through SSH)`);
  }

  async close(): Promise<void> {
    const hooks = this.closeHooks.splice(0);
    await Promise.all([...this.pendingKills]);
    if (!this.closed) {
      this.closed = true;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2000);
        this.client.once('close', () => {
          clearTimeout(t);
          resolve();
        });
        this.client.end();
      });
    }
    for (const h of hooks) await h();
  }
}
