import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { redact } from '../core/log.ts';
import { secretEnv } from '../core/secret-env.ts';

export const SUDO_PASSWORD_ENV = 'PALISADE_SUDO_PASSWORD' as const;

let prompted: Promise<string | undefined> | undefined;

/**
 * The sudo password for a host that asks for one: from PALISADE_SUDO_PASSWORD, or
 * asked once on the terminal (not echoed) and reused for every host; undefined when
 * neither is possible.
 */
export function sudoPassword(user: string, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const fromEnv = secretEnv(SUDO_PASSWORD_ENV, env);
  if (fromEnv) {
    redact.add(fromEnv);
    return Promise.resolve(fromEnv);
  }
  if (!process.stdin.isTTY || !process.stderr.isTTY) return Promise.resolve(undefined);
  prompted ??= promptHidden(`sudo password for ${user} on the hosts that ask for one: `).then((p) => {
    if (p) redact.add(p);
    return p || undefined;
  });
  return prompted;
}

function promptHidden(question: string): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk, _enc, cb) {
      if (!muted) process.stderr.write(chunk);
      cb();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  return new Promise((resolve) => {
    rl.question(question, (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
    muted = true;
  });
}
