import { isIPv4 } from 'node:net';

/** IPv4 helpers for CIDR overlap (pure). */
export function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((n, o) => (n * 256 + Number(o)) >>> 0, 0);
}

export interface Cidr4 {
  base: number;
  prefix: number;
  text: string;
}

export function parseCidr4(text: string): Cidr4 | undefined {
  const [ip, p] = text.split('/');
  if (!ip || !isIPv4(ip)) return undefined;
  const prefix = p === undefined ? 32 : Number(p);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) return undefined;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { base: (ipv4ToInt(ip) & mask) >>> 0, prefix, text: `${intToIpv4((ipv4ToInt(ip) & mask) >>> 0)}/${prefix}` };
}

export function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

/** Two IPv4 networks overlap when one contains the other's base under the shorter prefix. */
export function cidrsOverlap(a: Cidr4, b: Cidr4): boolean {
  const p = Math.min(a.prefix, b.prefix);
  const mask = p === 0 ? 0 : (0xffffffff << (32 - p)) >>> 0;
  return (a.base & mask) >>> 0 === (b.base & mask) >>> 0;
}

export function isLoopback(ip: string): boolean {
  return ip === '::1' || ip.startsWith('127.') || ip === '0:0:0:0:0:0:0:1';
}
