/**
 * The shared lab of a test run (brought up by test/lab/global-setup.ts): `getLab()` reads
 * DIR/lab.json, where DIR comes from env PALISADE_LAB_DIR or vitest's `inject('labDir')`.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { inject } from 'vitest';
import type { LabHost, LabInfo, LabTang } from '../../scripts/lab.d/types.ts';

export type { LabHost, LabInfo, LabTang };

declare module 'vitest' {
  export interface ProvidedContext {
    labDir: string;
  }
}

/**
 * Where test labs live: under the checkout's .cache/labs (gitignored), unless the checkout's path
 * has characters a lab dir may not have. A lab dir there holds `owner.pid` (the process that uses
 * it); global-setup takes down the labs whose owner is gone.
 */
const repo = resolve(import.meta.dirname, '../..');
export const LABS_ROOT = /^[A-Za-z0-9._/+@~=-]+$/.test(repo) ? join(repo, '.cache/labs') : join(tmpdir(), 'palisade-labs');

let cached: LabInfo | undefined;

export function labDir(): string {
  let dir = process.env.PALISADE_LAB_DIR;
  if (!dir) {
    try {
      dir = inject('labDir');
    } catch {}
  }
  if (!dir) throw new Error('no lab: PALISADE_LAB_DIR is not set (run the lab tests with vitest --project lab, which brings one up)');
  return dir;
}

export function getLab(): LabInfo {
  if (cached) return cached;
  const dir = labDir();
  try {
    cached = JSON.parse(readFileSync(join(dir, 'lab.json'), 'utf8')) as LabInfo;
  } catch (e) {
    throw new Error(`no lab in ${dir}: ${(e as Error).message} (is it up? scripts/lab status --dir ${dir})`);
  }
  return cached;
}

export function labHost(name: string): LabHost {
  const h = getLab().hosts.find((x) => x.name === name);
  if (!h) throw new Error(`the lab has no host ${name}`);
  return h;
}

export interface SshResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `command` on a lab host with OpenSSH (DIR/ssh_config: the lab key, pinned host keys,
 * ProxyJump for hosts behind another). `user` defaults to root; `input` goes to stdin.
 */
export function labSsh(host: string, command: string, opts: { user?: string; input?: string; timeoutMs?: number } = {}): SshResult {
  const lab = getLab();
  const args = ['-F', lab.sshConfigPath, ...(opts.user ? ['-l', opts.user] : []), host, command];
  const r = spawnSync('ssh', args, { input: opts.input, encoding: 'utf8', timeout: opts.timeoutMs ?? 60_000 });
  return { code: r.status ?? 255, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}
