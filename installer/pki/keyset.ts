import type { KeyEntry, KeyKind } from '../keystore/types.ts';
import { createIntermediateCa, createRootCa, issueCertificate, loadCa, type CertificateAuthority, type Issued } from './ca.ts';
import { jwtSigningKey, joinToken, passwordSalt, registryCredentials, secretsAtRestKey } from './secrets.ts';
import { DEFAULT_KEY_ALGORITHM, type KeyAlgorithm } from './x509.ts';
import { sha256Digest } from '../core/hash.ts';
import { CLUSTER_CA_ROLES, CLUSTER_CA_TITLES, KEY_NAMES, keySetSpecs, type ClusterCaRole, type EntrySpec, type KeySetInput } from './keyset-spec.ts';

/**
 * The key set of one cluster, as named keystore entries. Every entry is made
 * by a spec; `ensureKeySet` makes the missing ones (a re-run, a host added),
 * `renewEntry` makes a new version of one (rotation).
 */

export { KEY_NAMES, isOptionalEntry, keySetSpecs, type ClusterCaRole, type KeySetHost, type KeySetInput } from './keyset-spec.ts';

const digest = sha256Digest;

function certEntry(name: string, kind: KeyKind, i: Issued, meta: Record<string, string>, now: Date): KeyEntry {
  return {
    name,
    kind,
    value: i.keyPem,
    meta: { ...meta, cert: i.certPem, fingerprint: i.fingerprint },
    createdAt: now.toISOString(),
    expiresAt: i.notAfter.toISOString(),
  };
}

/** Where entries come from and go to: a keystore, or a plain map. */
export interface EntrySink {
  get(name: string): KeyEntry | undefined;
  put(entry: KeyEntry): void;
}

interface Ctx {
  input: KeySetInput;
  sink: EntrySink;
  now: Date;
  alg: KeyAlgorithm;
}

function caFrom(sink: EntrySink, name: string): CertificateAuthority | undefined {
  const e = sink.get(name);
  return e?.meta?.cert ? loadCa(e.meta.cert, e.value) : undefined;
}

async function make(spec: EntrySpec, ctx: Ctx, cas: { root?: CertificateAuthority; intermediate?: CertificateAuthority }): Promise<KeyEntry> {
  const { input, now, alg } = ctx;
  const org = `palisade ${input.cluster}`;
  switch (spec.kind) {
    case 'root-ca': {
      const ca = await createRootCa({ subject: { commonName: `palisade ${input.cluster} root CA`, organization: org }, algorithm: alg, now });
      cas.root = ca;
      return certEntry(spec.name, spec.kind, ca, { subject: `CN=palisade ${input.cluster} root CA` }, now);
    }
    case 'intermediate-ca': {
      const root = cas.root ?? caFrom(ctx.sink, KEY_NAMES.rootCa);
      if (!root) throw new Error('the root CA is missing from the keystore: cannot issue the intermediate');
      const ca = await createIntermediateCa(root, {
        subject: { commonName: `palisade ${input.cluster} intermediate CA`, organization: org },
        algorithm: alg,
        now,
      });
      cas.intermediate = ca;
      return certEntry(
        spec.name,
        spec.kind,
        ca,
        { subject: `CN=palisade ${input.cluster} intermediate CA`, chain: root.certPem, issuer: KEY_NAMES.rootCa },
        now,
      );
    }
    case 'cluster-ca': {
      // signed by the root, not the intermediate: the intermediate signs leaves only (path length 0), and a CA whose
      // key sits on every controller must not be able to issue the registry's or the ingress's certificates
      const root = cas.root ?? caFrom(ctx.sink, KEY_NAMES.rootCa);
      if (!root) throw new Error('the root CA is missing from the keystore: cannot issue the cluster CAs');
      const cn = `palisade ${input.cluster} cluster ${CLUSTER_CA_TITLES[spec.clusterCa!]} CA`;
      const ca = await createIntermediateCa(root, { subject: { commonName: cn, organization: org }, algorithm: alg, years: 10, pathLength: 0, now });
      return certEntry(spec.name, spec.kind, ca, { subject: `CN=${cn}`, role: spec.clusterCa!, chain: root.certPem, issuer: KEY_NAMES.rootCa }, now);
    }
    case 'tls-server':
    case 'tls-client': {
      const l = spec.leaf!;
      const ca = cas.intermediate ?? caFrom(ctx.sink, KEY_NAMES.intermediateCa);
      if (!ca) throw new Error('the intermediate CA is missing from the keystore: cannot issue certificates');
      cas.intermediate = ca;
      const i = await issueCertificate(ca, {
        commonName: l.commonName,
        organization: org,
        dnsNames: l.dnsNames,
        ipAddresses: l.ipAddresses,
        usage: l.usage,
        algorithm: alg,
        now,
      });
      return certEntry(
        spec.name,
        spec.kind,
        i,
        {
          subject: `CN=${l.commonName}`,
          usage: l.usage,
          dns: l.dnsNames.join(','),
          ip: l.ipAddresses.join(','),
          chain: ca.certPem,
          issuer: KEY_NAMES.intermediateCa,
        },
        now,
      );
    }
    case 'join-token': {
      const v = joinToken();
      return { name: spec.name, kind: spec.kind, value: v, meta: { fingerprint: digest(v) }, createdAt: now.toISOString() };
    }
    case 'encryption-key': {
      const v = secretsAtRestKey();
      return { name: spec.name, kind: spec.kind, value: v, meta: { fingerprint: digest(v), encoding: 'base64', bytes: '32' }, createdAt: now.toISOString() };
    }
    case 'password-salt': {
      const v = passwordSalt();
      return { name: spec.name, kind: spec.kind, value: v, meta: { fingerprint: digest(v), encoding: 'hex' }, createdAt: now.toISOString() };
    }
    case 'jwt-signing-key': {
      const k = jwtSigningKey();
      return {
        name: spec.name,
        kind: spec.kind,
        value: k.privateKeyPem,
        meta: { publicKey: k.publicKeyPem, fingerprint: digest(k.publicKeyPem), algorithm: 'EdDSA' },
        createdAt: now.toISOString(),
      };
    }
    case 'registry-credentials': {
      const c = registryCredentials();
      return {
        name: spec.name,
        kind: spec.kind,
        value: c.password,
        meta: { username: c.username, htpasswd: c.htpasswd, fingerprint: digest(c.password) },
        createdAt: now.toISOString(),
      };
    }
    default:
      throw new Error(`palisade cannot generate an entry of kind ${spec.kind}`);
  }
}

/**
 * Make every entry the sink lacks; return the names made. Certificates come
 * from the CAs in the sink when they are there, so a re-run or a new host
 * keeps the cluster's trust root.
 */
export async function ensureKeySet(input: KeySetInput, sink: EntrySink): Promise<string[]> {
  const ctx: Ctx = { input, sink, now: input.now ?? new Date(), alg: input.algorithm ?? DEFAULT_KEY_ALGORITHM };
  const missing = keySetSpecs(input).filter((s) => !sink.get(s.name));
  const cas: { root?: CertificateAuthority; intermediate?: CertificateAuthority } = {};
  // the CAs first, in order; then everything else at once (RSA keys are made in the thread pool)
  for (const s of missing.filter((x) => x.kind === 'root-ca' || x.kind === 'intermediate-ca')) sink.put(await make(s, ctx, cas));
  const rest = await Promise.all(missing.filter((x) => x.kind !== 'root-ca' && x.kind !== 'intermediate-ca').map((s) => make(s, ctx, cas)));
  for (const e of rest) sink.put(e);
  return missing.map((s) => s.name);
}

/** A new version of one entry, made the way the key set made it. */
export async function renewEntry(input: KeySetInput, sink: EntrySink, name: string): Promise<KeyEntry> {
  const spec = keySetSpecs(input).find((s) => s.name === name);
  if (!spec) throw new Error(`${name} is not an entry palisade generates`);
  return make(spec, { input, sink, now: input.now ?? new Date(), alg: input.algorithm ?? DEFAULT_KEY_ALGORITHM }, {});
}

export interface CertView {
  certPem: string;
  keyPem: string;
  /** certificate then its issuers up to (not including) the root */
  chainPem: string;
  fingerprint: string;
  expiresAt: string;
}

export interface KeySet {
  cluster: string;
  fqdn: string;
  rootCa: CertView;
  intermediateCa: CertView;
  hosts: Record<string, { server: CertView; client: CertView }>;
  registry: CertView;
  ingressFallback: CertView;
  api: CertView;
  /** the cluster's own CAs (chainPem: the CA then the root); absent in a keystore made before palisade provided them */
  clusterCa: Record<ClusterCaRole, CertView> | undefined;
  secrets: {
    joinToken: string;
    secretsAtRestKey: string;
    jwtSigningKey: { privateKeyPem: string; publicKeyPem: string };
    passwordSalt: string;
    registry: { username: string; password: string; htpasswd: string };
  };
  entries: KeyEntry[];
}

/** The typed view of the key set over its entries. */
export function keySetView(input: KeySetInput, sink: EntrySink): KeySet {
  const need = (name: string): KeyEntry => {
    const e = sink.get(name);
    if (!e) throw new Error(`keystore entry ${name} is missing (run \`palisade keys generate\`)`);
    return e;
  };
  const cert = (name: string): CertView => {
    const e = need(name);
    const c = e.meta?.cert ?? '';
    return {
      certPem: c,
      keyPem: e.value,
      chainPem: e.kind === 'root-ca' ? c : c + (e.meta?.chain ?? ''),
      fingerprint: e.meta?.fingerprint ?? '',
      expiresAt: e.expiresAt ?? '',
    };
  };
  const reg = need(KEY_NAMES.registryCredentials);
  const jwt = need(KEY_NAMES.jwtSigning);
  return {
    cluster: input.cluster,
    fqdn: input.fqdn,
    rootCa: cert(KEY_NAMES.rootCa),
    intermediateCa: cert(KEY_NAMES.intermediateCa),
    hosts: Object.fromEntries(input.hosts.map((h) => [h.name, { server: cert(KEY_NAMES.hostServer(h.name)), client: cert(KEY_NAMES.hostClient(h.name)) }])),
    registry: cert(KEY_NAMES.registry),
    ingressFallback: cert(KEY_NAMES.ingressFallback),
    api: cert(KEY_NAMES.api),
    clusterCa: CLUSTER_CA_ROLES.every((r) => sink.get(KEY_NAMES.clusterCa[r]))
      ? (Object.fromEntries(CLUSTER_CA_ROLES.map((r) => [r, cert(KEY_NAMES.clusterCa[r])])) as Record<ClusterCaRole, CertView>)
      : undefined,
    secrets: {
      joinToken: need(KEY_NAMES.joinToken).value,
      secretsAtRestKey: need(KEY_NAMES.secretsAtRest).value,
      jwtSigningKey: { privateKeyPem: jwt.value, publicKeyPem: jwt.meta?.publicKey ?? '' },
      passwordSalt: need(KEY_NAMES.passwordSalt).value,
      registry: { username: reg.meta?.username ?? '', password: reg.value, htpasswd: reg.meta?.htpasswd ?? '' },
    },
    entries: keySetSpecs(input)
      .filter((s) => s.kind !== 'cluster-ca' || sink.get(s.name))
      .map((s) => need(s.name)),
  };
}

/** Generate the whole key set in memory. */
export async function generateKeySet(input: KeySetInput): Promise<KeySet> {
  const m = new Map<string, KeyEntry>();
  const sink: EntrySink = { get: (n) => m.get(n), put: (e) => void m.set(e.name, e) };
  await ensureKeySet(input, sink);
  return keySetView(input, sink);
}
