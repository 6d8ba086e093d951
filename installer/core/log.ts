/**
 * Logging for the operator. Every secret the process handles is registered with
 * `redact.add()`; every line written through the logger has them replaced, as a
 * second line of defence behind "never format a secret into a message".
 */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
const order: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

class Redactor {
  private readonly secrets = new Set<string>();
  add(secret: string | Uint8Array): void {
    const s = typeof secret === 'string' ? secret : Buffer.from(secret).toString('hex');
    if (s.length >= 6) this.secrets.add(s);
    if (typeof secret !== 'string') {
      const b64 = Buffer.from(secret).toString('base64');
      if (b64.length >= 6) this.secrets.add(b64);
    }
  }
  apply(text: string): string {
    let out = text;
    for (const s of this.secrets) if (out.includes(s)) out = out.split(s).join('[REDACTED]');
    return out;
  }
}
export const redact = new Redactor();

export interface Logger {
  level: LogLevel;
  error(msg: string): void;
  warn(msg: string): void;
  info(msg: string): void;
  debug(msg: string): void;
}

function envLevel(): LogLevel {
  const v = process.env.PALISADE_LOG_LEVEL;
  return v === 'error' || v === 'warn' || v === 'info' || v === 'debug' ? v : 'info';
}

/** Logs go to stderr so stdout stays clean for `--output json`. */
export const log: Logger = {
  level: envLevel(),
  error(msg) {
    write('error', msg);
  },
  warn(msg) {
    write('warn', msg);
  },
  info(msg) {
    write('info', msg);
  },
  debug(msg) {
    write('debug', msg);
  },
};

function write(level: LogLevel, msg: string): void {
  if (order[level] > order[log.level]) return;
  const prefix = level === 'info' ? '' : `${level}: `;
  process.stderr.write(redact.apply(`${prefix}${msg}`) + '\n');
}
