import { decodeBase64UrlJson, jwkThumbprints, signingKeys, type Jwk } from './jwk.ts';
import { normalizeUrl } from './settings.ts';
import type { Binding, ClevisToken, LuksHeader } from './types.ts';

/**
 * Parsing of what cryptsetup and clevis print about a LUKS2 header. Pure:
 * the inputs are recorded command outputs.
 */

interface RawLuksJson {
  keyslots?: Record<string, { type?: string; kdf?: { type?: string }; area?: { encryption?: string } }>;
  tokens?: Record<string, { type?: string; keyslots?: string[]; jwe?: { protected?: string } }>;
  segments?: Record<string, { encryption?: string; sector_size?: number }>;
}

/** `cryptsetup luksDump --dump-json-metadata DEV` output to a LuksHeader. */
export function parseLuksDump(jsonText: string): LuksHeader {
  const raw = JSON.parse(jsonText) as RawLuksJson;
  const keyslots = Object.entries(raw.keyslots ?? {})
    .map(([id, k]) => ({ id: Number(id), type: k.type ?? 'unknown', kdf: k.kdf?.type ?? 'unknown', cipher: k.area?.encryption }))
    .sort((a, b) => a.id - b.id);
  const tokens: ClevisToken[] = [];
  const otherTokens: LuksHeader['otherTokens'] = [];
  for (const [id, t] of Object.entries(raw.tokens ?? {})) {
    const slots = (t.keyslots ?? []).map(Number).sort((a, b) => a - b);
    if (t.type === 'clevis' && t.jwe?.protected) tokens.push({ tokenId: Number(id), keyslots: slots, binding: bindingFromProtectedHeader(t.jwe.protected) });
    else otherTokens.push({ tokenId: Number(id), type: t.type ?? 'unknown', keyslots: slots });
  }
  tokens.sort((a, b) => a.tokenId - b.tokenId);
  const seg = Object.values(raw.segments ?? {})[0];
  return { keyslots, segmentCipher: seg?.encryption, sectorSize: seg?.sector_size, tokens, otherTokens };
}

interface ClevisHeader {
  clevis?: {
    pin?: string;
    tang?: { url?: string; adv?: { keys?: Jwk[] } | string };
    tpm2?: { pcr_ids?: string | number[] };
    sss?: { t?: number; jwe?: string[] };
  };
}

/** The binding a clevis JWE was made with, read from its protected header (sss nests JWEs). */
export function bindingFromProtectedHeader(protectedB64: string): Binding {
  let header: ClevisHeader;
  try {
    header = decodeBase64UrlJson(protectedB64) as ClevisHeader;
  } catch {
    return { pin: 'unknown', name: 'unreadable' };
  }
  const c = header.clevis ?? {};
  switch (c.pin) {
    case 'tang': {
      const adv = typeof c.tang?.adv === 'object' ? c.tang.adv : undefined;
      const thumbprints = signingKeys(adv?.keys ?? []).flatMap((k) => {
        try {
          return jwkThumbprints(k);
        } catch {
          return [];
        }
      });
      return { pin: 'tang', url: normalizeUrl(c.tang?.url ?? ''), thumbprints };
    }
    case 'tpm2':
      return { pin: 'tpm2', pcrs: parsePcrIds(c.tpm2?.pcr_ids) };
    case 'sss':
      return {
        pin: 'sss',
        threshold: Number(c.sss?.t ?? 0),
        pins: (c.sss?.jwe ?? []).map((compact) => bindingFromProtectedHeader(compact.split('.')[0] ?? '')),
      };
    default:
      return { pin: 'unknown', name: String(c.pin ?? 'none') };
  }
}

/** clevis writes pcr_ids as "0,7" (also accepted: an array). */
export function parsePcrIds(v: string | number[] | undefined): number[] {
  const list = Array.isArray(v) ? v : String(v ?? '').split(',');
  return [...new Set(list.map((x) => Number(String(x).trim())).filter((n) => Number.isInteger(n)))].sort((a, b) => a - b);
}

/** Does a binding found on a disk give what the config asks for? */
export function bindingMatches(actual: Binding, desired: Binding): boolean {
  if (actual.pin !== desired.pin) return false;
  switch (desired.pin) {
    case 'tang': {
      const a = actual as Extract<Binding, { pin: 'tang' }>;
      return a.url === desired.url && desired.thumbprints.every((t) => a.thumbprints.includes(t));
    }
    case 'tpm2': {
      const a = actual as Extract<Binding, { pin: 'tpm2' }>;
      return a.pcrs.length === desired.pcrs.length && a.pcrs.every((p, i) => p === desired.pcrs[i]);
    }
    case 'sss': {
      const a = actual as Extract<Binding, { pin: 'sss' }>;
      if (a.threshold !== desired.threshold || a.pins.length !== desired.pins.length) return false;
      // each wanted pin must match a distinct pin on the disk
      const left = [...a.pins];
      return desired.pins.every((d) => {
        const i = left.findIndex((x) => bindingMatches(x, d));
        if (i < 0) return false;
        left.splice(i, 1);
        return true;
      });
    }
    default:
      return false;
  }
}

/** One line for the operator. Thumbprints are shortened; they are public, but long. */
export function describeBinding(b: Binding): string {
  switch (b.pin) {
    case 'tang': {
      const thp = b.thumbprints.find((t) => t.length === 43) ?? b.thumbprints[0];
      return `tang(${b.url}${thp ? `, thp ${thp.slice(0, 10)}…` : ''})`;
    }
    case 'tpm2':
      return `tpm2(pcrs ${b.pcrs.join(',') || 'none'})`;
    case 'sss':
      return `sss(${b.threshold} of ${b.pins.length}: ${b.pins.map(describeBinding).join(', ')})`;
    default:
      return `unknown pin "${b.name}"`;
  }
}

/**
 * The JSON config `clevis luks bind` takes for a binding: tang with its pinned
 * thumbprint, tpm2 with its PCR list, sss with the threshold over its pins.
 */
export function clevisPinConfig(b: Binding): { pin: string; config: Record<string, unknown> } {
  switch (b.pin) {
    case 'tang':
      return { pin: 'tang', config: { url: b.url, thp: b.thumbprints[0] } };
    case 'tpm2':
      return { pin: 'tpm2', config: { pcr_ids: b.pcrs.join(',') } };
    case 'sss': {
      const pins: Record<string, Array<Record<string, unknown>>> = {};
      for (const p of b.pins) {
        const c = clevisPinConfig(p);
        (pins[c.pin] ??= []).push(c.config);
      }
      return { pin: 'sss', config: { t: b.threshold, pins } };
    }
    default:
      throw new Error(`cannot bind an unknown pin (${b.name})`);
  }
}

/** `clevis luks list -d DEV` lines: `1: tang '{"url":"…"}'` → slot and pin. */
export function parseClevisList(text: string): Array<{ slot: number; pin: string; config: string }> {
  const out: Array<{ slot: number; pin: string; config: string }> = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+):\s+(\S+)\s+'(.*)'\s*$/.exec(line);
    if (m) out.push({ slot: Number(m[1]), pin: m[2] ?? '', config: m[3] ?? '' });
  }
  return out;
}
