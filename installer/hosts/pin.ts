import { readFile, stat } from 'node:fs/promises';
import { askYesNo } from '../core/confirm.ts';
import { parseDocument } from 'yaml';
import type { LoadedConfig } from '../config/load.ts';
import { writeFileAtomic } from '../core/atomic.ts';
import { PalisadeError, usageError } from '../core/errors.ts';
import { settleLimit } from '../core/limit.ts';
import { renderTable } from '../core/output.ts';
import { connectClient } from './connect.ts';
import { clientOptions, configConnectOptions, connectHost } from './index.ts';
import { configTargets, type HostTarget } from './target.ts';
import { decideHostKey, type TrustDecision } from './trust.ts';
import type { SshHost } from './remote.ts';

export type PinStatus = 'pinned' | 'known_hosts' | 'new' | 'changed' | 'revoked' | 'error';

export interface HostKeyScan {
  name: string;
  address: string;
  port: number;
  pinPath: string;
  status: PinStatus;
  keyType?: string;
  fingerprint?: string;
  /** the fingerprint(s) trusted until now, for a changed key */
  previous?: string[];
  error?: PalisadeError;
}

function scanOf(t: HostTarget, r: PromiseSettledResult<{ decision: TrustDecision }>): HostKeyScan {
  const base = { name: t.name, address: t.address, port: t.port, pinPath: t.pinPath ?? '' };
  if (r.status === 'rejected')
    return {
      ...base,
      status: 'error',
      error: r.reason instanceof PalisadeError ? r.reason : new PalisadeError('ssh.connect', String((r.reason as Error)?.message ?? r.reason)),
    };
  const d = r.value.decision;
  const key = { keyType: d.keyType, fingerprint: d.fingerprint };
  if (d.ok) return { ...base, ...key, status: d.source === 'pin' ? 'pinned' : 'known_hosts' };
  if (d.reason === 'changed') return { ...base, ...key, status: 'changed', previous: d.expected };
  return { ...base, ...key, status: d.reason === 'revoked' ? 'revoked' : 'new' };
}

/**
 * Connect to every host (and the jump host) only as far as the key exchange — no
 * credentials are sent to a host whose key is not trusted — and report each key.
 * Hosts behind the jump host are reached through it once its key is trusted or
 * accepted (`acceptJump` decides about a new jump host key).
 */
export async function scanHostKeys(loaded: LoadedConfig, acceptJump: (s: HostKeyScan) => Promise<boolean>): Promise<HostKeyScan[]> {
  const { config, baseDir } = loaded;
  const base = await configConnectOptions(config, baseDir);
  const targets = configTargets(config, baseDir);
  const jumpTarget = targets.find((t) => t.via)?.via;
  const scanOne = (t: HostTarget, jump?: SshHost) => connectClient(t, { ...clientOptions(t, base), keyOnly: true, attempts: 2 }, jump?.sshClient);
  const scans: HostKeyScan[] = [];
  let jump: SshHost | undefined;
  let jumpError: PalisadeError | undefined;
  if (jumpTarget) {
    const [r] = await settleLimit([jumpTarget], 1, (t) => scanOne(t));
    const s = scanOf(jumpTarget, r!);
    scans.push(s);
    if (s.status === 'pinned' || s.status === 'known_hosts' || ((s.status === 'new' || s.status === 'changed') && (await acceptJump(s)))) {
      const fp = s.fingerprint!;
      try {
        // the key just shown (and accepted), exactly that one
        jump = (await connectHost(jumpTarget, {
          ...base,
          trust: { decide: (q, key) => decideHostKey({ ...q, pinned: fp }, key, base.knownHosts ?? []) },
        })) as SshHost;
      } catch (e) {
        jumpError = e instanceof PalisadeError ? e : new PalisadeError('ssh.connect', String(e));
      }
    } else {
      jumpError = new PalisadeError(
        'ssh.jump-untrusted',
        `the jump host key is ${s.status === 'error' ? 'unreachable' : 'not trusted'}, so hosts behind it cannot be reached`,
      );
    }
  }
  try {
    const results = await settleLimit(targets, config.ssh.concurrency, async (t) => {
      if (t.via) {
        if (!jump) throw jumpError!;
        return scanOne(t, jump);
      }
      return scanOne(t);
    });
    for (const [i, r] of results.entries()) scans.push(scanOf(targets[i]!, r));
  } finally {
    await jump?.close();
  }
  return scans;
}

/** Write the fingerprints into palisade.yaml, keeping its comments and layout; atomic. */
export async function writePins(path: string, pins: ReadonlyArray<{ pinPath: string; fingerprint: string }>): Promise<void> {
  const text = await readFile(path, 'utf8');
  const doc = parseDocument(text);
  for (const p of pins) {
    const m = /^hosts\[(\d+)\]\.hostKey$/.exec(p.pinPath);
    const at = m ? ['hosts', Number(m[1]), 'hostKey'] : p.pinPath === 'jumpHost.hostKey' ? ['jumpHost', 'hostKey'] : undefined;
    if (!at) throw new Error(`unexpected pin path ${p.pinPath}`);
    doc.setIn(at, p.fingerprint);
  }
  const mode = (await stat(path)).mode & 0o777;
  await writeFileAtomic(path, doc.toString(), { mode });
}

export function renderScans(scans: readonly HostKeyScan[]): string {
  const status = (s: HostKeyScan): string => {
    switch (s.status) {
      case 'pinned':
        return 'pinned (matches)';
      case 'known_hosts':
        return 'trusted by known_hosts';
      case 'new':
        return 'NEW';
      case 'changed':
        return `CHANGED (was ${s.previous?.join(' or ')})`;
      case 'revoked':
        return 'REVOKED';
      case 'error':
        return `error: ${s.error?.message.split('\n')[0] ?? ''}`;
    }
  };
  return renderTable(
    ['HOST', 'ADDRESS', 'KEY', 'FINGERPRINT', 'STATUS'],
    scans.map((s) => [s.name, `${s.address}:${s.port}`, s.keyType ?? '', s.fingerprint ?? '', status(s)]),
  );
}

export { askYesNo };

export interface TrustRunOptions {
  yes?: boolean;
  replace?: boolean;
  /** asks the operator; default: a y/N question on the terminal */
  confirm?: (question: string) => Promise<boolean>;
  out?: (text: string) => void;
  interactive?: boolean;
  /** the outcome as data (`--output json`) */
  report?: (r: { ok: boolean; pinned: string[]; hosts: Array<Omit<HostKeyScan, 'error'> & { error?: string }> }) => void;
}

/** `palisade hosts trust`: show every host key, ask, then pin the accepted ones. Returns the exit code. */
export async function trustHosts(loaded: LoadedConfig, o: TrustRunOptions = {}): Promise<number> {
  const out = o.out ?? ((t: string) => process.stdout.write(t));
  const interactive = o.interactive ?? process.stdin.isTTY === true;
  const confirm = o.confirm ?? askYesNo;
  const decide = async (what: string): Promise<boolean> => {
    if (o.yes) return true;
    if (!interactive)
      throw usageError(
        'hosts.trust-confirm',
        `${what}: not confirmed (no terminal to ask on)`,
        "check the fingerprints shown against the hosts' consoles, then run again with --yes",
      );
    return confirm(what);
  };
  const acceptJump = async (s: HostKeyScan): Promise<boolean> => {
    out(`${renderScans([s])}\n`);
    if (s.status === 'changed' && !o.replace) return false;
    return decide(`trust the jump host key ${s.fingerprint} (needed to reach the hosts behind it)?`);
  };
  const scans = await scanHostKeys(loaded, acceptJump);
  out(`${renderScans(scans)}\n`);
  const fresh = scans.filter((s) => s.status === 'new' || (s.status === 'changed' && o.replace));
  const fromKnownHosts = scans.filter((s) => s.status === 'known_hosts');
  const changed = scans.filter((s) => s.status === 'changed' && !o.replace);
  let pins = fromKnownHosts;
  if (fresh.length > 0) {
    const ok = await decide(
      `pin ${fresh.length} host key(s) shown above as NEW${o.replace ? '/CHANGED' : ''} in ${loaded.path}? Compare them with each host's console (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub) first`,
    );
    if (ok) pins = [...pins, ...fresh];
  }
  if (pins.length > 0) {
    await writePins(
      loaded.path,
      pins.map((s) => ({ pinPath: s.pinPath, fingerprint: s.fingerprint! })),
    );
    out(`pinned ${pins.map((s) => s.name).join(', ')} in ${loaded.path}\n`);
  } else out('nothing to pin\n');
  for (const s of changed)
    out(
      `${s.name}: the host key CHANGED and was NOT pinned; if the host was reinstalled, verify the new key on its console and run \`palisade hosts trust --replace\`\n`,
    );
  const bad = scans.filter((s) => s.status === 'error' || s.status === 'revoked' || (s.status === 'changed' && !o.replace));
  const code = bad.length > 0 || (fresh.length > 0 && !pins.some((p) => fresh.includes(p))) ? 1 : 0;
  o.report?.({
    ok: code === 0,
    pinned: pins.map((s) => s.name),
    hosts: scans.map(({ error, ...s }) => ({ ...s, ...(error ? { error: error.message.split('\n')[0] ?? '' } : {}) })),
  });
  return code;
}
