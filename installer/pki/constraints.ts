import { printable } from '../core/printable.ts';
import type { CertInfo, NameConstraints, Subtree } from './inspect.ts';
import { ipBytes } from './x509.ts';

/**
 * Name constraints along a chain (RFC 5280 4.2.1.10, as OpenSSL applies
 * them): every CA's permitted and excluded subtrees bind the names of all
 * certificates below it (self-issued intermediates apart). Pure.
 */

export interface ConstraintProblem {
  code: 'cert.name-constraints';
  message: string;
}

const norm = (s: string): string => s.toLowerCase().replace(/\.$/, '');

/** dNSName constraint: "" matches all; ".x.y" matches below x.y only; "x.y" matches x.y and below. */
export function dnsWithin(name: string, constraint: string): boolean {
  const n = norm(name);
  const c = norm(constraint);
  if (c === '') return true;
  if (c.startsWith('.')) return n.endsWith(c);
  return n === c || n.endsWith(`.${c}`);
}

export function ipWithin(address: Buffer, subtree: { address: Buffer; mask: Buffer }): boolean {
  if (address.length !== subtree.address.length) return false;
  for (let i = 0; i < address.length; i++) {
    const m = subtree.mask[i] ?? 0;
    if (((address[i] ?? 0) & m) !== ((subtree.address[i] ?? 0) & m)) return false;
  }
  return true;
}

const showSubtree = (s: Subtree): string =>
  s.type === 'dns'
    ? `DNS:${printable(s.name) || '(any)'}`
    : s.type === 'ip'
      ? `IP:${[...s.address].join(s.address.length === 4 ? '.' : ':')}/${[...s.mask].join(s.address.length === 4 ? '.' : ':')}`
      : `GeneralName tag 0x${s.tag.toString(16)}`;

/** The names a certificate holds that constraints bind: SAN DNS and IP; the CN of a leaf without SAN DNS names, when it is a host name. */
function boundNames(c: CertInfo, isLeaf: boolean): { dns: string[]; ip: string[] } {
  const dns = [...(c.san?.dns ?? [])];
  if (isLeaf && dns.length === 0 && c.commonName && /^[A-Za-z0-9*]([A-Za-z0-9-]*\.)+[A-Za-z0-9-]+\.?$/.test(c.commonName)) dns.push(c.commonName);
  return { dns, ip: [...(c.san?.ip ?? [])] };
}

function check(c: CertInfo, isLeaf: boolean, nc: NameConstraints, caName: string): string[] {
  const out: string[] = [];
  const { dns, ip } = boundNames(c, isLeaf);
  const permittedDns = nc.permitted.filter((s): s is Extract<Subtree, { type: 'dns' }> => s.type === 'dns');
  const permittedIp = nc.permitted.filter((s): s is Extract<Subtree, { type: 'ip' }> => s.type === 'ip');
  const excludedDns = nc.excluded.filter((s): s is Extract<Subtree, { type: 'dns' }> => s.type === 'dns');
  const excludedIp = nc.excluded.filter((s): s is Extract<Subtree, { type: 'ip' }> => s.type === 'ip');
  for (const d of dns) {
    const ex = excludedDns.find((s) => dnsWithin(d, s.name));
    if (ex) out.push(`excluded subtree violation: DNS:${printable(d)} of ${c.subject} is excluded by ${showSubtree(ex)} in the name constraints of ${caName}`);
    else if (permittedDns.length > 0 && !permittedDns.some((s) => dnsWithin(d, s.name))) {
      out.push(
        `permitted subtree violation: DNS:${printable(d)} of ${c.subject} is outside ${permittedDns.map(showSubtree).join(', ')}, the names ${caName} may certify`,
      );
    }
  }
  for (const a of ip) {
    let bytes: Buffer;
    try {
      bytes = ipBytes(a);
    } catch {
      continue;
    }
    const ex = excludedIp.find((s) => ipWithin(bytes, s));
    if (ex) out.push(`excluded subtree violation: IP:${a} of ${c.subject} is excluded by ${showSubtree(ex)} in the name constraints of ${caName}`);
    else if (permittedIp.length > 0 && !permittedIp.some((s) => ipWithin(bytes, s))) {
      out.push(
        `permitted subtree violation: IP:${a} of ${c.subject} is outside ${permittedIp.map(showSubtree).join(', ')}, the addresses ${caName} may certify`,
      );
    }
  }
  // forms palisade does not evaluate: refuse rather than accept what a client might not
  const unchecked = [...nc.permitted, ...nc.excluded].filter((s): s is Extract<Subtree, { type: 'other' }> => s.type === 'other');
  const applies = unchecked.filter((s) => (s.tag === 0xa4 ? c.subjectDer.length > 2 : (c.san?.other ?? 0) > 0));
  if (applies.length > 0) out.push(`${caName} constrains ${applies.map(showSubtree).join(', ')} names, which palisade cannot check for ${c.subject}`);
  return out;
}

/** Every name-constraint violation in `path` (leaf first, then its issuers in order). */
export function nameConstraintProblems(path: readonly CertInfo[]): ConstraintProblem[] {
  const problems: ConstraintProblem[] = [];
  path.forEach((ca, i) => {
    if (i === 0 || !ca.nameConstraints) return;
    const caName = `${i === path.length - 1 && ca.selfIssued ? 'the root' : 'the intermediate'} ${ca.subject}`;
    for (let j = 0; j < i; j++) {
      const c = path[j] as CertInfo;
      if (j > 0 && c.selfIssued) continue;
      for (const message of check(c, j === 0, ca.nameConstraints, caName)) problems.push({ code: 'cert.name-constraints', message });
    }
  });
  return problems;
}
