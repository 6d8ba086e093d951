/**
 * A small DER encoder and reader: exactly what X.509 building and checking
 * needs (node:crypto signs and verifies; it cannot build a certificate).
 */

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8String: 0x0c,
  PrintableString: 0x13,
  IA5String: 0x16,
  UTCTime: 0x17,
  GeneralizedTime: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

function lengthBytes(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  while (n > 0) {
    bytes.unshift(n & 0xff);
    n = Math.floor(n / 256);
  }
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One TLV. */
export function tlv(tag: number, content: Uint8Array | readonly Uint8Array[]): Buffer {
  const body = content instanceof Uint8Array ? Buffer.from(content) : Buffer.concat(content as Uint8Array[]);
  return Buffer.concat([Buffer.from([tag]), lengthBytes(body.length), body]);
}

export const seq = (...items: Uint8Array[]): Buffer => tlv(TAG.SEQUENCE, items);
export const set = (...items: Uint8Array[]): Buffer => tlv(TAG.SET, items);
export const octets = (b: Uint8Array): Buffer => tlv(TAG.OCTET_STRING, b);
export const nul = (): Buffer => Buffer.from([TAG.NULL, 0]);
export const bool = (v: boolean): Buffer => Buffer.from([TAG.BOOLEAN, 1, v ? 0xff : 0]);
export const bitString = (b: Uint8Array, unusedBits = 0): Buffer => tlv(TAG.BIT_STRING, [Buffer.from([unusedBits]), b]);
export const utf8 = (s: string): Buffer => tlv(TAG.UTF8String, Buffer.from(s, 'utf8'));
export const ia5 = (s: string): Buffer => tlv(TAG.IA5String, Buffer.from(s, 'ascii'));
/** context-specific tag n, constructed (EXPLICIT) */
export const explicit = (n: number, inner: Uint8Array): Buffer => tlv(0xa0 | n, inner);
/** context-specific tag n, primitive (IMPLICIT over a primitive type) */
export const implicitPrim = (n: number, content: Uint8Array): Buffer => tlv(0x80 | n, content);

/** A non-negative integer from big-endian bytes (leading zeros trimmed, 0x00 added when the high bit is set). */
export function uint(bytes: Uint8Array): Buffer {
  let b = Buffer.from(bytes);
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  b = b.subarray(i);
  if (b.length === 0) b = Buffer.from([0]);
  if ((b[0] ?? 0) & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return tlv(TAG.INTEGER, b);
}
export const int = (n: number): Buffer => {
  if (n < 0 || !Number.isInteger(n)) throw new Error('der: only non-negative integers');
  const bytes: number[] = [];
  do {
    bytes.unshift(n & 0xff);
    n = Math.floor(n / 256);
  } while (n > 0);
  return uint(Buffer.from(bytes));
};

export function oidBytes(oid: string): Buffer {
  const parts = oid.split('.').map(Number);
  if (parts.length < 2 || parts.some((p) => !Number.isInteger(p) || p < 0)) throw new Error(`der: bad OID ${oid}`);
  const out: number[] = [(parts[0] ?? 0) * 40 + (parts[1] ?? 0)];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    let v = Math.floor(p / 128);
    while (v > 0) {
      chunk.unshift((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(...chunk);
  }
  return Buffer.from(out);
}
export const oid = (o: string): Buffer => tlv(TAG.OID, oidBytes(o));

/** UTCTime before 2050, GeneralizedTime from 2050 on (RFC 5280 4.1.2.5). Seconds precision, Z. */
export function time(d: Date): Buffer {
  const iso = d.toISOString(); // 2026-11-26T13:26:19.000Z
  const y = d.getUTCFullYear();
  const digits = iso.slice(0, 19).replace(/[-T:]/g, ''); // 20261126132619
  if (y >= 1950 && y < 2050) return tlv(TAG.UTCTime, Buffer.from(`${digits.slice(2)}Z`, 'ascii'));
  return tlv(TAG.GeneralizedTime, Buffer.from(`${digits}Z`, 'ascii'));
}

// ---------------------------------------------------------------- reading

export interface Node {
  tag: number;
  /** the whole TLV */
  raw: Buffer;
  /** the content octets */
  body: Buffer;
  /** children, for constructed types (parsed on demand) */
  readonly children: Node[];
}

class DerNode implements Node {
  private kids: Node[] | undefined;
  constructor(
    readonly tag: number,
    readonly raw: Buffer,
    readonly body: Buffer,
  ) {}
  get children(): Node[] {
    if (this.kids) return this.kids;
    if (!(this.tag & 0x20)) throw new Error(`der: tag 0x${this.tag.toString(16)} is not constructed`);
    this.kids = readAll(this.body);
    return this.kids;
  }
}

export function read(buf: Buffer, offset = 0): { node: Node; next: number } {
  if (offset + 2 > buf.length) throw new Error('der: truncated');
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new Error('der: multi-byte tags are not supported');
  let len = buf[offset + 1]!;
  let p = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new Error('der: bad length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p + i]!;
    p += n;
  }
  if (p + len > buf.length) throw new Error('der: truncated');
  return { node: new DerNode(tag, buf.subarray(offset, p + len), buf.subarray(p, p + len)), next: p + len };
}

export function readAll(buf: Buffer): Node[] {
  const out: Node[] = [];
  let p = 0;
  while (p < buf.length) {
    const { node, next } = read(buf, p);
    out.push(node);
    p = next;
  }
  return out;
}

/** Parse exactly one DER value (no trailing bytes). */
export function parse(buf: Buffer): Node {
  const { node, next } = read(buf, 0);
  if (next !== buf.length) throw new Error('der: trailing bytes');
  return node;
}

export function readOid(n: Node): string {
  if (n.tag !== TAG.OID) throw new Error('der: expected an OID');
  const b = n.body;
  if (b.length === 0) throw new Error('der: empty OID');
  const parts: number[] = [Math.floor(b[0]! / 40), b[0]! % 40];
  let v = 0;
  for (const x of b.subarray(1)) {
    v = v * 128 + (x & 0x7f);
    if (!(x & 0x80)) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

export function readTime(n: Node): Date {
  const s = n.body.toString('ascii');
  let m: RegExpMatchArray | null;
  if (n.tag === TAG.UTCTime && (m = s.match(/^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)?Z$/))) {
    const yy = Number(m[1]);
    return new Date(Date.UTC(yy < 50 ? 2000 + yy : 1900 + yy, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0)));
  }
  if (n.tag === TAG.GeneralizedTime && (m = s.match(/^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(?:\.\d+)?Z$/))) {
    return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
  }
  throw new Error(`der: unsupported time "${s}"`);
}

export function readString(n: Node): string {
  if (n.tag === 0x1e) {
    // BMPString
    let s = '';
    for (let i = 0; i + 1 < n.body.length; i += 2) s += String.fromCharCode(n.body.readUInt16BE(i));
    return s;
  }
  return n.body.toString(n.tag === TAG.UTF8String ? 'utf8' : 'latin1');
}
