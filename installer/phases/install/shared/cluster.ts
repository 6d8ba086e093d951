import { readFile } from 'node:fs/promises';
import { oidcApiServerArgs } from '../../../access/oidc.ts';
import { b64, objectMatches, renderManifests } from '../../../cluster/manifests.ts';
import { resolveConfigPath } from '../../../config/paths.ts';
import type { ClusterArtifacts, ClusterCa, ClusterSpec, KubeObject } from '../../../cluster/types.ts';
import type { PalisadeConfig } from '../../../config/schema.ts';
import { topology } from '../../../config/topology.ts';
import { PalisadeError } from '../../../core/errors.ts';
import { sh } from '../../../core/quote.ts';
import { hostEncryptionSettings, DEFAULT_MOUNT_POINT } from '../../../encryption/index.ts';
import type { RemoteHost } from '../../../hosts/types.ts';
import type { KeySet } from '../../../pki/keyset.ts';
import type { Outputs } from '../../types.ts';
import type { InstallContext } from '../context.ts';
import { BUNDLE } from '../outputs.ts';
import { hostOf } from './hosts.ts';

/**
 * How the install phases reach the management cluster: the API host, each
 * node's spec (with its data dir on the encrypted volume when mounted), the
 * cluster files from the bundle, and the manifests palisade keeps in the cluster.
 */
export function clusterSpec(config: PalisadeConfig, keys: KeySet, dataDir?: string, oidcCaPem?: string, clusterCa?: ClusterCa): ClusterSpec {
  const t = topology(config);
  const apiServerArgs = oidcApiServerArgs(config.access?.oidc, !!oidcCaPem);
  return {
    token: keys.secrets.joinToken,
    fqdn: config.cluster.fqdn,
    ...(config.cluster.vip ? { vip: config.cluster.vip } : {}),
    podCidr: config.cluster.podCidr,
    serviceCidr: config.cluster.serviceCidr,
    firstServer: { name: t.firstController.name, address: t.firstController.address },
    registry: { endpoint: t.registry.endpoint, username: keys.secrets.registry.username, password: keys.secrets.registry.password, caPem: keys.rootCa.certPem },
    ...(dataDir ? { dataDir } : {}),
    ...(apiServerArgs.length ? { apiServerArgs } : {}),
    ...(oidcCaPem ? { oidcCaPem } : {}),
    snapshots: { scheduleCron: config.backup.snapshotSchedule, retention: config.backup.snapshotRetention },
    ...(clusterCa ? { clusterCa } : {}),
  };
}

/** The cluster's CAs from the key set, as the driver takes them. */
export function clusterCaOf(keys: KeySet): ClusterCa | undefined {
  const c = keys.clusterCa;
  if (!c) return undefined;
  const pair = (v: { certPem: string; keyPem: string }) => ({ certPem: v.certPem, keyPem: v.keyPem });
  return {
    server: pair(c.server),
    client: pair(c.client),
    requestHeader: pair(c.requestHeader),
    etcdPeer: pair(c.etcdPeer),
    etcdServer: pair(c.etcdServer),
    rootPem: keys.rootCa.certPem,
  };
}

export interface ClusterCaDecision {
  /** palisade's CAs, when the cluster runs on them (or will: its first controller was never started) */
  ca: ClusterCa | undefined;
  /** why not, for the report */
  note?: string;
}

const caDecisions = new WeakMap<Outputs, Promise<ClusterCaDecision>>();
/**
 * Whether the cluster runs on palisade's CAs, asked on the first controller once per run. A cluster
 * installed before palisade provided them keeps k3s's own: replacing a running cluster's CAs would cut
 * every node and client off, so they stay and the report says so.
 */
export function clusterCaFor(ctx: InstallContext, outputs: Outputs): Promise<ClusterCaDecision> {
  let p = caDecisions.get(outputs);
  if (!p) {
    p = (async (): Promise<ClusterCaDecision> => {
      const keys = await ctx.keys.keySet();
      const ca = clusterCaOf(keys);
      const note = `the cluster runs on the CAs ${ctx.driver.name} made itself when it was first installed: its API does not chain to the palisade root, and palisade leaves them as they are (moving to palisade's is a CA rotation in the cluster: \`k3s certificate rotate-ca\`)`;
      // a keystore without them is one made before palisade provided them, for a cluster that runs on its own
      if (!ca) return { ca: undefined, note };
      const first = ctx.topology.nodes.find((n) => n.role === 'first')!;
      const spec = clusterSpec(ctx.config, keys, await dataDirFor(ctx, outputs, first.name));
      if ((await ctx.driver.clusterCaInUse(apiHost(ctx, outputs), first, spec, ca)) === 'palisade') return { ca };
      return { ca: undefined, note };
    })();
    caDecisions.set(outputs, p);
  }
  return p;
}

/** the host kubectl runs on: the first controller */
export const apiHost = (ctx: InstallContext, outputs: Outputs): RemoteHost => hostOf(outputs, ctx.topology.firstController.name);

const dataDirs = new WeakMap<Outputs, Map<string, Promise<string | undefined>>>();
/** the cluster's data dir on a node: on the encrypted volume when it is mounted, else the driver's default (asked once per run) */
export function dataDirFor(ctx: InstallContext, outputs: Outputs, name: string): Promise<string | undefined> {
  let m = dataDirs.get(outputs);
  if (!m) dataDirs.set(outputs, (m = new Map()));
  let p = m.get(name);
  if (!p) {
    const hc = ctx.topology.host(name)!;
    const mp = hostEncryptionSettings(ctx.config, hc).mountPoint ?? DEFAULT_MOUNT_POINT;
    p = hostOf(outputs, name)
      .exec(sh`mountpoint -q ${mp} && echo mounted || true`, { sudo: true })
      .then((r) => (r.stdout.trim() === 'mounted' ? `${mp}/k3s` : undefined));
    m.set(name, p);
  }
  return p;
}

export async function specFor(ctx: InstallContext, outputs: Outputs, node: string): Promise<ClusterSpec> {
  const caFile = ctx.config.access?.oidc?.caFile;
  const oidcCaPem = caFile ? await readFile(resolveConfigPath({ baseDir: ctx.baseDir }, caFile), 'utf8') : undefined;
  return clusterSpec(ctx.config, await ctx.keys.keySet(), await dataDirFor(ctx, outputs, node), oidcCaPem, (await clusterCaFor(ctx, outputs)).ca);
}

const artifacts = new WeakMap<object, Promise<ClusterArtifacts>>();
/** the cluster binary and images tarball from the bundle, as local files */
export function artifactsOf(outputs: Outputs): Promise<ClusterArtifacts> {
  const b = outputs.get(BUNDLE);
  let p = artifacts.get(b);
  if (!p) {
    p = (async () => {
      if (!b.has('bin/k3s'))
        throw new PalisadeError('install.bundle', `the bundle ${b.path} has no bin/k3s`, { hint: 'build the bundle from a release spec that ships k3s' });
      const images = [...b.files.keys()].find((f) => /^files\/k3s-airgap-images[^/]*\.tar(\.(zst|gz))?$/.test(f));
      // the signed digests go with the files: a file swapped after verification is refused when it is uploaded
      const signed = (f: string): string | undefined => (b.trusted ? b.digest(f) : undefined);
      const binarySha256 = signed('bin/k3s');
      const imagesSha256 = images ? signed(images) : undefined;
      return {
        binary: await b.localPath('bin/k3s'),
        ...(binarySha256 ? { binarySha256 } : {}),
        ...(images ? { imagesTarball: await b.localPath(images), ...(imagesSha256 ? { imagesTarballSha256: imagesSha256 } : {}) } : {}),
      };
    })();
    artifacts.set(b, p);
  }
  return p;
}

/** The objects palisade keeps in the cluster: service secrets, CA, registry pull secret, ingress TLS. */
export async function manifestObjects(ctx: InstallContext, outputs: Outputs): Promise<KubeObject[]> {
  const k = await ctx.keys.keySet();
  const reg = k.secrets.registry;
  const imported = await ctx.keys.importedIngress();
  const ingress = imported?.meta?.cert
    ? { cert: imported.meta.cert + (imported.meta.chain ?? ''), key: imported.value, source: 'imported' }
    : { cert: k.ingressFallback.chainPem, key: k.ingressFallback.keyPem, source: 'generated' };
  const auth = b64(`${reg.username}:${reg.password}`);
  const m = outputs.maybe(BUNDLE)?.manifest;
  const t = ctx.topology;
  return renderManifests({
    secretsAtRestKey: b64(k.secrets.secretsAtRestKey),
    jwtPrivateKey: b64(k.secrets.jwtSigningKey.privateKeyPem),
    jwtPublicKey: b64(k.secrets.jwtSigningKey.publicKeyPem),
    passwordSalt: b64(k.secrets.passwordSalt),
    rootCaCert: b64(k.rootCa.certPem),
    intermediateCaCert: b64(k.intermediateCa.certPem),
    dockerConfigJson: b64(JSON.stringify({ auths: { [t.registry.endpoint]: { username: reg.username, password: reg.password, auth } } })),
    ingressCert: b64(ingress.cert),
    ingressKey: b64(ingress.key),
    ingressSource: ingress.source,
    fqdn: ctx.config.cluster.fqdn,
    registry: t.registry.url,
    bundle: m ? `${m.name} ${m.version}` : '',
    version: m?.version ?? '',
  });
}

/** The manifest objects missing from the cluster or different there (two kubectl calls, whatever the count). */
export async function objectsOutOfPlace(ctx: InstallContext, outputs: Outputs): Promise<string[]> {
  const api = apiHost(ctx, outputs);
  const want = await manifestObjects(ctx, outputs);
  const namespaces = [...new Set(want.flatMap((o) => (o.metadata.namespace ? [o.metadata.namespace] : [])))];
  const live = new Map<string, KubeObject>();
  const key = (o: KubeObject) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
  for (const o of want.filter((x) => !x.metadata.namespace)) {
    const got = await ctx.driver.get(api, o.kind, o.metadata.name);
    if (got) live.set(key(got), got);
  }
  for (const ns of namespaces) {
    const kinds = [...new Set(want.filter((o) => o.metadata.namespace === ns).map((o) => `${o.kind.toLowerCase()}s`))].join(',');
    const list = await ctx.driver.get(api, kinds, undefined, ns);
    for (const o of list?.items ?? []) live.set(key(o), o);
  }
  return want.filter((o) => !objectMatches(o, live.get(key(o)))).map((o) => `${o.kind}/${o.metadata.name}`);
}
