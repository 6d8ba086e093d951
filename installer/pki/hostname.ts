import { isIP } from 'node:net';
import { getPublicSuffix } from 'tldts';
import { printable } from '../core/printable.ts';

/**
 * Does a certificate name cover a host name? RFC 6125 as browsers apply it:
 * names from the subjectAltName only (the CN is not a fallback when SANs
 * exist), a wildcard only as the whole leftmost label, standing for exactly
 * one label: `*.example.com` covers `a.example.com`, not `example.com`, not
 * `a.b.example.com`; no partial wildcards (`f*.example.com`), none directly
 * under a public suffix (`*.com`, `*.co.uk`: the ICANN section of the Public
 * Suffix List, as browsers use it), never an IP address.
 */

const norm = (s: string): string => s.trim().toLowerCase().replace(/\.$/, '');

export type PatternProblem = 'partial-wildcard' | 'wildcard-not-leftmost' | 'wildcard-too-broad' | undefined;

export function patternProblem(pattern: string): PatternProblem {
  const p = norm(pattern);
  if (!p.includes('*')) return undefined;
  const labels = p.split('.');
  if (labels.slice(1).some((l) => l.includes('*'))) return 'wildcard-not-leftmost';
  if (labels[0] !== '*') return 'partial-wildcard';
  if (isPublicSuffix(labels.slice(1).join('.'))) return 'wildcard-too-broad';
  return undefined;
}

/** A suffix under which anyone may register names; a one-label name (an unknown TLD, `internal`) counts too. */
export function isPublicSuffix(name: string): boolean {
  const n = norm(name);
  if (!n.includes('.')) return true;
  return getPublicSuffix(n, { allowPrivateDomains: false }) === n;
}

export function dnsNameMatches(pattern: string, host: string): boolean {
  const p = norm(pattern);
  const h = norm(host);
  if (!p || !h) return false;
  if (!p.includes('*')) return p === h;
  if (patternProblem(p) || isIP(h)) return false;
  const dot = h.indexOf('.');
  if (dot <= 0) return false;
  return h.slice(dot + 1) === p.slice(2);
}

function ipBytes(ip: string): string {
  if (isIP(ip) === 4)
    return ip
      .split('.')
      .map((x) => Number(x))
      .join('.');
  // expand IPv6 for comparison
  const [head = '', tail] = ip.toLowerCase().split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const g = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return g.map((x) => parseInt(x, 16).toString(16)).join(':');
}

export interface CoverResult {
  ok: boolean;
  /** why not, for the operator */
  reason?: string;
}

/** Does a certificate with these SANs (and CN) cover `host`? With the precise reason when not. */
export function certificateCovers(san: { dns: string[]; ip: string[] } | undefined, commonName: string | undefined, host: string): CoverResult {
  const h = norm(host);
  const names = [...(san?.dns ?? []).map((d) => `DNS:${printable(d)}`), ...(san?.ip ?? []).map((i) => `IP:${i}`)];
  if (!san || (san.dns.length === 0 && san.ip.length === 0)) {
    return {
      ok: false,
      reason: `the certificate has no subjectAltName${commonName ? ` (only the subject CN ${printable(commonName)})` : ''}: browsers, Go and kubectl ignore the CN, so it covers no name`,
    };
  }
  if (isIP(h)) {
    if (san.ip.some((i) => ipBytes(i) === ipBytes(h))) return { ok: true };
    return { ok: false, reason: `no IP subjectAltName is ${h} (it names ${names.join(', ')})` };
  }
  if (san.dns.some((d) => dnsNameMatches(d, h))) return { ok: true };
  const why: string[] = [];
  for (const raw of san.dns) {
    const d = printable(raw);
    const p = norm(raw);
    const problem = patternProblem(p);
    if (problem === 'partial-wildcard') why.push(`${d} is a partial wildcard, which clients do not accept`);
    else if (problem === 'wildcard-not-leftmost') why.push(`${d} has a wildcard outside the leftmost label, which clients do not accept`);
    else if (problem === 'wildcard-too-broad')
      why.push(`${d} is a wildcard directly under the public suffix ${printable(p.slice(2))}, which clients do not accept`);
    else if (p.startsWith('*.')) {
      const base = p.slice(2);
      if (h === base) why.push(`${d} does not cover ${printable(base)} itself (a wildcard stands for exactly one label)`);
      else if (h.endsWith(`.${base}`)) why.push(`${d} covers one label only, not ${h}`);
    }
  }
  if (commonName && norm(commonName) === h)
    why.push(`the subject CN is ${printable(commonName)}, but the CN is ignored when the certificate has subjectAltNames`);
  return { ok: false, reason: `the subjectAltNames (${names.join(', ')}) do not cover ${printable(h)}${why.length ? `: ${why.join('; ')}` : ''}` };
}
