import type { RemoteHost } from '../hosts/types.ts';
import { luksDumpCommand, pinReleaseCommand, PASS_FAILED_MARKER, testKeyCommand } from './commands.ts';
import { bindingMatches, describeBinding, parseLuksDump } from './luks.ts';
import type { Binding, LuksHeader } from './types.ts';

/**
 * Proof that a disk is as configured, from the host: the LUKS2 header, the
 * clevis bindings, that each bound pin releases a key that opens its slot, and
 * that the escrowed recovery key opens the volume.
 */
export interface PinCheck {
  slot: number;
  binding: string;
  ok: boolean;
  error?: string;
}

export interface DiskVerification {
  device: string;
  luks2: boolean;
  uuid: string | undefined;
  cipher: string | undefined;
  keyslots: number[];
  tokens: number;
  bindings: string[];
  /** `clevis luks list` as printed */
  clevisList: string[];
  /** exactly one clevis binding, and it is the configured one (or none in mode passphrase) */
  bindingAsConfigured: boolean;
  pins: PinCheck[];
  recoveryKey: 'ok' | 'failed' | 'missing' | 'not-checked';
  /** the key slot the recovery key opens */
  recoverySlot: number | undefined;
  problems: string[];
  ok: boolean;
}

export interface VerifyOptions {
  /** the binding the config asks for; undefined: none (mode passphrase) */
  binding: Binding | undefined;
  /** the escrowed recovery key; undefined when no keystore was opened */
  recoveryKey: string | undefined | null;
  /** LUKS UUID the keystore recorded with the key */
  expectedUuid?: string;
  expectedCipher?: string;
}

function tail(s: string): string {
  const lines = s
    .trim()
    .split('\n')
    .filter((l) => l && !/No usable token is available/.test(l) && !l.includes(PASS_FAILED_MARKER));
  return lines.slice(-2).join(' / ');
}

/** Which key slot the key on stdin opens (`cryptsetup -v` says "Key slot N unlocked."). */
export async function findKeySlot(host: RemoteHost, device: string, key: string): Promise<{ ok: boolean; slot: number | undefined; error: string }> {
  const r = await host.exec(testKeyCommand(device).replace('--test-passphrase', '--test-passphrase -v'), { sudo: true, stdin: key });
  const m = /Key slot (\d+) unlocked/.exec(r.stdout + r.stderr);
  return { ok: r.code === 0, slot: m ? Number(m[1]) : undefined, error: r.code === 0 ? '' : tail(r.stderr) };
}

export async function readHeader(
  host: RemoteHost,
  device: string,
): Promise<{ header: LuksHeader | undefined; uuid: string | undefined; clevisList: string[]; error: string }> {
  const r = await host.exec(luksDumpCommand(device), { sudo: true });
  const [json = '', rest = ''] = r.stdout.split('\n@@uuid\n');
  const [uuid = '', clevis = ''] = rest.split('@@clevis\n');
  let header: LuksHeader | undefined;
  try {
    header = json.trim() ? parseLuksDump(json) : undefined;
  } catch {
    header = undefined;
  }
  return {
    header,
    uuid: uuid.trim() || undefined,
    clevisList: clevis.split('\n').filter((l) => l.trim()),
    error: header ? '' : tail(r.stderr) || 'not a LUKS2 volume',
  };
}

/** Run every slot's pin check in one round trip; each check's output sits between its markers. */
export async function checkPins(host: RemoteHost, device: string, header: LuksHeader): Promise<PinCheck[]> {
  const slots = header.tokens.flatMap((t) => t.keyslots.map((slot) => ({ slot, binding: describeBinding(t.binding) })));
  if (slots.length === 0) return [];
  const script = slots.map(({ slot }) => `echo @@pin-begin ${slot}\n( ${pinReleaseCommand(device, slot)} ) 2>&1\necho "@@pin-end ${slot} rc=$?"`).join('\n');
  const r = await host.exec(script, { sudo: true });
  return slots.map(({ slot, binding }) => {
    const m = new RegExp(`@@pin-begin ${slot}\\n([\\s\\S]*?)@@pin-end ${slot} rc=(\\d+)`).exec(r.stdout);
    if (!m) return { slot, binding, ok: false, error: `no result from the host (${tail(r.stderr) || `exit ${r.code}`})` };
    const text = m[1] ?? '';
    if (m[2] === '0') return { slot, binding, ok: true };
    const why = text.includes(PASS_FAILED_MARKER)
      ? `clevis could not recover the key (${tail(text) || 'pin unavailable'})`
      : tail(text) || 'the released key does not open the slot';
    return { slot, binding, ok: false, error: why };
  });
}

export async function verifyDisk(host: RemoteHost, device: string, o: VerifyOptions): Promise<DiskVerification> {
  const v: DiskVerification = {
    device,
    luks2: false,
    uuid: undefined,
    cipher: undefined,
    keyslots: [],
    tokens: 0,
    bindings: [],
    clevisList: [],
    bindingAsConfigured: false,
    pins: [],
    recoveryKey: 'not-checked',
    recoverySlot: undefined,
    problems: [],
    ok: false,
  };
  const h = await readHeader(host, device);
  v.clevisList = h.clevisList;
  if (!h.header) {
    v.problems.push(`${device} is not a LUKS2 volume (${h.error})`);
    return v;
  }
  const header = h.header;
  v.luks2 = true;
  v.uuid = h.uuid;
  v.cipher = header.segmentCipher;
  v.keyslots = header.keyslots.map((k) => k.id);
  v.tokens = header.tokens.length + header.otherTokens.length;
  v.bindings = header.tokens.map((t) => `slot ${t.keyslots.join(',')}: ${describeBinding(t.binding)}`);
  v.bindingAsConfigured = o.binding ? header.tokens.length === 1 && bindingMatches(header.tokens[0]!.binding, o.binding) : header.tokens.length === 0;
  if (!v.bindingAsConfigured) {
    v.problems.push(
      o.binding
        ? `expected one binding ${describeBinding(o.binding)}, found ${v.bindings.length ? v.bindings.join('; ') : 'none'}`
        : `expected no clevis binding (mode passphrase), found ${v.bindings.join('; ')}`,
    );
  }
  if (o.expectedCipher && v.cipher !== o.expectedCipher)
    v.problems.push(`cipher is ${v.cipher ?? 'unknown'}, config asks for ${o.expectedCipher} (changing it needs re-encryption)`);
  if (o.expectedUuid && v.uuid !== o.expectedUuid) v.problems.push(`LUKS uuid is ${v.uuid}, the keystore's recovery key is for ${o.expectedUuid}`);

  v.pins = await checkPins(host, device, header);
  for (const p of v.pins) if (!p.ok) v.problems.push(`slot ${p.slot} (${p.binding}): ${p.error}`);

  if (o.recoveryKey === null) {
    v.recoveryKey = 'missing';
    v.problems.push('the keystore has no recovery key for this disk');
  } else if (o.recoveryKey !== undefined) {
    const r = await findKeySlot(host, device, o.recoveryKey);
    v.recoveryKey = r.ok ? 'ok' : 'failed';
    v.recoverySlot = r.slot;
    if (!r.ok) v.problems.push(`the escrowed recovery key does not open it (${r.error})`);
  }
  v.ok = v.problems.length === 0;
  return v;
}
