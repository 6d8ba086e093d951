import { readFile, stat } from 'node:fs/promises';
import type { KeyObject } from 'node:crypto';
import { PalisadeError, usageError } from '../core/errors.ts';
import { printable } from '../core/printable.ts';
import { redact } from '../core/log.ts';
import type { KeyEntry } from '../keystore/types.ts';
import type { CertInfo } from './inspect.ts';
import { MAX_INPUT_BYTES, inputTooLarge, loadCertificates, loadPkcs12, loadPrivateKey } from './load.ts';
import { validateCertificate, type ValidationReport } from './validate.ts';
import { certPem } from './x509.ts';
import { KEY_NAMES } from './keyset.ts';

/** `palisade certs import|check`: read the files, check them, shape the keystore entry. */

export interface ImportFiles {
  cert?: string | undefined;
  key?: string | undefined;
  chain?: string | undefined;
  ca?: string | undefined;
  p12?: string | undefined;
  keyPassphraseFile?: string | undefined;
  fqdn: string;
  now?: Date;
}

export interface CheckedCertificate {
  report: ValidationReport;
  key: KeyObject;
}

async function readInput(path: string, flag: string): Promise<Buffer> {
  try {
    const st = await stat(path);
    if (st.isFile() && st.size > MAX_INPUT_BYTES) throw inputTooLarge(`${flag} ${path}`, st.size);
    const data = await readFile(path);
    if (data.length > MAX_INPUT_BYTES) throw inputTooLarge(`${flag} ${path}`, data.length);
    return data;
  } catch (e) {
    if (e instanceof PalisadeError) throw e;
    throw usageError('cert.file', `cannot read ${flag} ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`, 'check the path');
  }
}

export async function checkCertificateFiles(f: ImportFiles): Promise<CheckedCertificate> {
  if (f.p12 && (f.cert || f.key)) throw usageError('cert.usage', 'pass either --p12, or --cert and --key, not both');
  if (!f.p12 && (!f.cert || !f.key)) throw usageError('cert.usage', 'pass --cert FILE and --key FILE (or --p12 FILE)');
  let passphrase: string | undefined;
  if (f.keyPassphraseFile) {
    passphrase = (await readInput(f.keyPassphraseFile, '--key-passphrase-file')).toString('utf8').replace(/\r?\n$/, '');
    redact.add(passphrase);
  }
  let certs: CertInfo[];
  let key: KeyObject;
  if (f.p12) {
    const p = await loadPkcs12(await readInput(f.p12, '--p12'), f.p12, passphrase);
    certs = p.certs;
    key = p.key;
  } else {
    certs = loadCertificates(await readInput(f.cert!, '--cert'), f.cert!);
    key = loadPrivateKey(await readInput(f.key!, '--key'), f.key!, passphrase);
  }
  const chain = f.chain ? loadCertificates(await readInput(f.chain, '--chain'), f.chain) : [];
  const ca = f.ca ? loadCertificates(await readInput(f.ca, '--ca'), f.ca) : [];
  const report = validateCertificate({ certs, key, chain, ca, fqdn: f.fqdn, ...(f.now ? { now: f.now } : {}) });
  return { report, key };
}

export function refusal(fqdn: string, r: ValidationReport): PalisadeError {
  return new PalisadeError('cert.refused', `the certificate for ${fqdn} was refused: ${r.errors.length} problem${r.errors.length === 1 ? '' : 's'}`, {
    details: r.errors.map((e) => ({ path: e.code, message: e.message })),
    hint: 'fix each problem listed, or ask your CA for a certificate that covers the appliance FQDN; nothing was stored',
  });
}

const san = (c: CertInfo): string =>
  [...(c.san?.dns ?? []).map((d) => `DNS:${printable(d)}`), ...(c.san?.ip ?? []).map((i) => `IP:${i}`)].join(', ') || '(none)';

/** Subject, SANs, issuer chain, expiry: what the operator reads after import, check and show. */
export function describeCertificate(r: Pick<ValidationReport, 'leaf' | 'intermediates' | 'root'>, now = new Date()): string {
  const l = r.leaf;
  const days = Math.floor((l.notAfter.getTime() - now.getTime()) / 86_400_000);
  const lines = [
    `subject:     ${l.subject}`,
    `names:       ${san(l)}`,
    `key:         ${l.publicKey.type === 'ec' ? `ECDSA ${l.publicKey.curve}` : l.publicKey.type === 'rsa' ? `RSA ${l.publicKey.bits}` : l.publicKey.type}, signed with ${l.signatureName}`,
    `issuer:      ${l.issuer}`,
  ];
  for (const c of r.intermediates) lines.push(`  <- ${c.subject} (intermediate, until ${c.notAfter.toISOString().slice(0, 10)})`);
  if (r.root) lines.push(`  <- ${r.root.subject} (root, until ${r.root.notAfter.toISOString().slice(0, 10)})`);
  lines.push(
    `valid:       ${l.notBefore.toISOString().slice(0, 10)} to ${l.notAfter.toISOString().slice(0, 10)} (${days >= 0 ? `${days} days left` : 'EXPIRED'})`,
  );
  lines.push(`fingerprint: ${l.fingerprint}`);
  return lines.join('\n');
}

/** the keystore entry of the operator's certificate (the install serves it for the FQDN) */
export const INGRESS_ENTRY = KEY_NAMES.ingress;

export function ingressEntry(c: CheckedCertificate, fqdn: string, now = new Date()): KeyEntry {
  const r = c.report;
  return {
    name: INGRESS_ENTRY,
    kind: 'ingress-tls',
    value: c.key.export({ type: 'pkcs8', format: 'pem' }).toString(),
    meta: {
      fqdn,
      cert: certPem(r.leaf.der),
      chain: r.intermediates.map((x) => certPem(x.der)).join(''),
      ...(r.root ? { root: certPem(r.root.der) } : {}),
      fingerprint: r.leaf.fingerprint,
      subject: r.leaf.subject,
      dns: (r.leaf.san?.dns ?? []).join(','),
      ip: (r.leaf.san?.ip ?? []).join(','),
      importedAt: now.toISOString(),
    },
    createdAt: now.toISOString(),
    expiresAt: r.leaf.notAfter.toISOString(),
  };
}
