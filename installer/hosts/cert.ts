import { verify as cryptoVerify } from 'node:crypto';
import ssh2 from 'ssh2';
import { runLocal } from '../core/process.ts';
import { fingerprintOf, keyTypeOf } from './fingerprint.ts';
const { utils } = ssh2;

/**
 * OpenSSH host certificates (PROTOCOL.certkeys) checked against the `@cert-authority`
 * keys of known_hosts. ssh2 does not negotiate certificate host-key algorithms, so
 * the certificate is fetched beside the connection (`ssh-keyscan -c`) and must
 * certify exactly the key the handshake presented.
 */
export interface OpenSshCertificate {
  certType: string;
  /** the certified public key, as a plain key blob (what the handshake presents) */
  key: Buffer;
  serial: bigint;
  /** 1 user, 2 host */
  type: number;
  keyId: string;
  principals: string[];
  validAfter: bigint;
  validBefore: bigint;
  criticalOptions: Buffer;
  caKey: Buffer;
  /** the bytes the signature covers */
  signed: Buffer;
  signature: Buffer;
}

class Reader {
  pos = 0;
  constructor(private readonly b: Buffer) {}
  u32(): number {
    if (this.pos + 4 > this.b.length) throw new Error('certificate truncated');
    const v = this.b.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(): bigint {
    if (this.pos + 8 > this.b.length) throw new Error('certificate truncated');
    const v = this.b.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  get done(): boolean {
    return this.pos >= this.b.length;
  }
  string(): Buffer {
    const n = this.u32();
    if (this.pos + n > this.b.length) throw new Error('certificate truncated');
    const v = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
}

const sshString = (b: Buffer | string): Buffer => {
  const data = typeof b === 'string' ? Buffer.from(b) : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  return Buffer.concat([len, data]);
};

/** key fields per certificate type: how many strings/mpints follow the nonce */
const KEY_FIELDS: Record<string, { plain: string; fields: number }> = {
  'ssh-ed25519-cert-v01@openssh.com': { plain: 'ssh-ed25519', fields: 1 },
  'ssh-rsa-cert-v01@openssh.com': { plain: 'ssh-rsa', fields: 2 },
  'ecdsa-sha2-nistp256-cert-v01@openssh.com': { plain: 'ecdsa-sha2-nistp256', fields: 2 },
  'ecdsa-sha2-nistp384-cert-v01@openssh.com': { plain: 'ecdsa-sha2-nistp384', fields: 2 },
  'ecdsa-sha2-nistp521-cert-v01@openssh.com': { plain: 'ecdsa-sha2-nistp521', fields: 2 },
};

export function parseCertificate(blob: Buffer): OpenSshCertificate {
  const r = new Reader(blob);
  const certType = r.string().toString('latin1');
  const kind = KEY_FIELDS[certType];
  if (!kind) throw new Error(`unsupported certificate type ${certType}`);
  r.string(); // nonce
  const fields = Array.from({ length: kind.fields }, () => r.string());
  const key = Buffer.concat([sshString(kind.plain), ...fields.map((f) => sshString(f))]);
  const serial = r.u64();
  const type = r.u32();
  const keyId = r.string().toString('utf8');
  const pr = new Reader(r.string());
  const principals: string[] = [];
  while (!pr.done) principals.push(pr.string().toString('utf8'));
  const validAfter = r.u64();
  const validBefore = r.u64();
  const criticalOptions = Buffer.from(r.string());
  r.string(); // extensions
  r.string(); // reserved
  const caKey = Buffer.from(r.string());
  const signed = blob.subarray(0, r.pos);
  const signature = Buffer.from(r.string());
  return { certType, key, serial, type, keyId, principals, validAfter, validBefore, criticalOptions, caKey, signed, signature };
}

/** Verify an SSH signature blob (string alg, string sig) by an SSH public key blob. */
export function verifySshSignature(keyBlob: Buffer, data: Buffer, signatureBlob: Buffer): boolean {
  const type = keyTypeOf(keyBlob);
  const parsed = utils.parseKey(`${type} ${keyBlob.toString('base64')}`);
  if (parsed instanceof Error) return false;
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  const pem = key?.getPublicPEM();
  if (!pem) return false;
  const sr = new Reader(signatureBlob);
  const alg = sr.string().toString('latin1');
  const sig = sr.string();
  try {
    if (type === 'ssh-ed25519') return alg === 'ssh-ed25519' && cryptoVerify(null, data, pem, sig);
    if (type === 'ssh-rsa') {
      const hash = { 'rsa-sha2-512': 'sha512', 'rsa-sha2-256': 'sha256', 'ssh-rsa': 'sha1' }[alg];
      return hash !== undefined && cryptoVerify(hash, data, pem, sig);
    }
    if (type.startsWith('ecdsa-sha2-')) {
      const bits = { 'ecdsa-sha2-nistp256': 256, 'ecdsa-sha2-nistp384': 384, 'ecdsa-sha2-nistp521': 521 }[type];
      if (!bits || alg !== type) return false;
      const size = Math.ceil(bits / 8);
      const rs = new Reader(sig);
      const int = (b: Buffer) => {
        const v = b[0] === 0 ? b.subarray(1) : b;
        if (v.length > size) throw new Error('bad ECDSA signature');
        return Buffer.concat([Buffer.alloc(size - v.length), v]);
      };
      const p1363 = Buffer.concat([int(rs.string()), int(rs.string())]);
      return cryptoVerify(bits === 256 ? 'sha256' : bits === 384 ? 'sha384' : 'sha512', data, { key: pem, dsaEncoding: 'ieee-p1363' }, p1363);
    }
  } catch {
    return false;
  }
  return false;
}

/** OpenSSH's default CASignatureAlgorithms: ssh-rsa (SHA-1) is not among them. */
export const CA_SIGNATURE_ALGORITHMS: ReadonlySet<string> = new Set([
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
]);

/** The algorithm name a signature blob (string alg, string sig) says it uses. */
export function signatureAlgorithm(signatureBlob: Buffer): string {
  try {
    return new Reader(signatureBlob).string().toString('latin1');
  } catch {
    return '(unreadable)';
  }
}

export type CertVerdict = { ok: true; caFingerprint: string } | { ok: false; reason: string };

/**
 * Is `cert` a valid host certificate for `hostName`, signed by one of `cas`, now?
 * (as sshd's client side checks: host type, principal, validity window, no unknown
 * critical options, CA signature)
 */
export function checkHostCertificate(
  cert: OpenSshCertificate,
  o: { hostName: string; cas: readonly Buffer[]; revoked?: readonly Buffer[]; now?: Date },
): CertVerdict {
  // OpenSSH refuses a certificate whose CA key is @revoked, whatever else it says
  if (o.revoked?.some((k) => k.equals(cert.caKey))) return { ok: false, reason: `its CA ${fingerprintOf(cert.caKey)} is marked @revoked` };
  if (cert.type !== 2) return { ok: false, reason: 'it is a user certificate, not a host certificate' };
  if (cert.principals.length > 0 && !cert.principals.includes(o.hostName))
    return { ok: false, reason: `it is not valid for ${o.hostName} (principals: ${cert.principals.join(', ')})` };
  const now = BigInt(Math.floor((o.now ?? new Date()).getTime() / 1000));
  if (now < cert.validAfter) return { ok: false, reason: 'it is not valid yet' };
  if (now >= cert.validBefore) return { ok: false, reason: 'it has expired' };
  if (cert.criticalOptions.length > 0) return { ok: false, reason: 'it has critical options palisade does not know' };
  const ca = o.cas.find((c) => c.equals(cert.caKey));
  if (!ca) return { ok: false, reason: `its CA ${fingerprintOf(cert.caKey)} is not a @cert-authority for this host` };
  // OpenSSH (8.2+) no longer accepts ssh-rsa, RSA with SHA-1, as a CA signature (CASignatureAlgorithms)
  const alg = signatureAlgorithm(cert.signature);
  if (!CA_SIGNATURE_ALGORITHMS.has(alg))
    return {
      ok: false,
      reason: `its CA signed it with ${alg}${alg === 'ssh-rsa' ? ' (RSA with SHA-1)' : ''}, which OpenSSH no longer accepts for certificates: re-sign it with rsa-sha2-512`,
    };
  if (!verifySshSignature(ca, cert.signed, cert.signature)) return { ok: false, reason: 'its CA signature does not verify' };
  return { ok: true, caFingerprint: fingerprintOf(ca) };
}

/** The certificates a host offers, read with `ssh-keyscan -c` (direct connection only). */
export async function scanCertificates(address: string, port: number, timeoutSeconds = 5): Promise<Buffer[]> {
  const r = await runLocal('ssh-keyscan', ['-c', '-T', String(Math.max(1, Math.round(timeoutSeconds))), '-p', String(port), '--', address], {
    timeoutMs: (timeoutSeconds + 2) * 1000,
  });
  // lines are `[host] TYPE-cert-v01@openssh.com BASE64`; comments start with #
  return r.stdout
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'))
    .flatMap((l) => {
      const f = l.trim().split(/\s+/);
      const i = f.findIndex((x) => x.endsWith('-cert-v01@openssh.com'));
      const b64 = i >= 0 ? f[i + 1] : undefined;
      return b64 && /^[A-Za-z0-9+/]+={0,2}$/.test(b64) ? [Buffer.from(b64, 'base64')] : [];
    });
}
