import { describe, expect, it } from 'vitest';
import type { KeyEntry } from '../../installer/keystore/types.ts';
import { answeredEndpoints, certificateSummary } from '../../installer/phases/install/shared/report.ts';
import { expiryWarnings, renderCertificates } from '../../installer/phases/status.ts';
import type { KeySet } from '../../installer/pki/keyset.ts';
import { renderTable } from '../../installer/core/output.ts';

const day = 86_400_000;
const now = new Date('2026-12-01T00:00:00Z');
const at = (days: number) => new Date(now.getTime() + days * day).toISOString();
const entry = (name: string, days: number, kind = 'tls-server'): KeyEntry => ({ name, kind, value: 'secret', expiresAt: at(days), meta: { cert: 'PEM' } });
const keys = {
  entries: [
    entry('ca/root', 3650, 'root-ca'),
    entry('ca/intermediate', 1825, 'intermediate-ca'),
    entry('tls/registry', 20),
    entry('tls/api', 365),
    entry('tls/ingress-fallback', 365),
    entry('tls/host/host1/server', 365),
    entry('tls/host/host2/server', 100),
    entry('tls/host/host2/client', 100, 'tls-client'),
    { name: 'secret/join-token', kind: 'join-token', value: 'x' },
  ],
} as unknown as KeySet;

describe('certificates in the report and status', () => {
  it('lists only the certificates in use, each with what for, soonest expiry first', () => {
    const c = certificateSummary(keys);
    expect(c.map((x) => x.name)).toEqual(['tls/registry', 'tls/ingress-fallback', 'ca/intermediate', 'ca/root']);
    expect(c.every((x) => x.use.length > 0)).toBe(true);
  });

  it("an imported FQDN certificate replaces the generated fallback as the ingress Secret's", () => {
    const c = certificateSummary(keys, { ...entry('tls/ingress', 90, 'ingress-tls') });
    expect(c.map((x) => x.name)).toEqual(['tls/registry', 'tls/ingress', 'ca/intermediate', 'ca/root']);
  });

  it('status shows every one with its expiry and warns 30 days ahead', () => {
    const certs = certificateSummary(keys);
    const text = renderCertificates(certs, renderTable, now);
    expect(text.split('\n')[2]).toMatch(/^tls\/registry +2026-12-21 +WARNING: 20 days left/);
    expect(text).toMatch(/^ca\/root +2036-\d\d-\d\d +3650 days left/m);
    expect(expiryWarnings(certs, now)).toEqual(['tls/registry expires in 20 days (2026-12-21): renew it (palisade keys rotate tls/registry)']);
    expect(expiryWarnings([{ name: 'tls/registry', expiresAt: at(-1) }], now)[0]).toMatch(/EXPIRED/);
    expect(expiryWarnings([{ name: 'tls/registry', expiresAt: at(31) }], now)).toEqual([]);
  });
});

describe('endpoints in the report', () => {
  const all = { api: 'https://palisade.lab.internal:6443', registry: 'https://10.0.0.1:5000', ingress: 'https://palisade.lab.internal' };
  it('advertises only endpoints a verify check reached', () => {
    const verify = {
      ok: true,
      checks: [
        { name: 'API palisade.lab.internal on host1', ok: true, detail: '' },
        { name: 'registry https://10.0.0.1:5000', ok: true, detail: '' },
      ],
    };
    expect(answeredEndpoints(all, verify)).toEqual({ api: all.api, registry: all.registry });
    expect(answeredEndpoints(all, { ok: false, checks: [{ name: 'registry https://10.0.0.1:5000', ok: false, detail: 'refused' }] })).toEqual({});
  });
});
