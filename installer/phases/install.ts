import { readFile, stat } from 'node:fs/promises';
import { buildInfo } from '../core/build-info.ts';
import { request } from 'node:https';
import { join } from 'node:path';
import { parse } from 'yaml';
import { openBundle } from '../bundle/open.ts';
import { verifyBundle } from '../bundle/verify.ts';
import { b64, objectMatches, renderManifests } from '../cluster/manifests.ts';
import { API_PORT } from '../cluster/k3s-render.ts';
import type { ClusterSpec, KubeObject, NodeSpec } from '../cluster/types.ts';
import { writeFileAtomic } from '../core/atomic.ts';
import { PalisadeError, errorMessage } from '../core/errors.ts';
import { settleLimit } from '../core/limit.ts';
import { sh } from '../core/quote.ts';
import { applyEncryption, encryptionStatus, gatherAll, planEncryption, planHasWork, escrowIndex, hostEncryptionSettings, DEFAULT_MOUNT_POINT } from '../encryption/index.ts';
import { gatherFacts } from '../facts/index.ts';
import { localFacts } from '../facts/local.ts';
import { createKeystore, keystoreExists, openKeystore } from '../keystore/index.ts';
import type { Keystore } from '../keystore/types.ts';
import { ensureKeySet, keySetSpecs, keySetView, KEY_NAMES, type KeySet } from '../pki/keyset.ts';
import { evaluate } from '../preflight/report.ts';
import { tlsOver, viaHost, type OpenStream } from '../hosts/tunnel.ts';
import { RegistryClient } from '../registry/client.ts';
import { seedRegistry } from '../registry/seed.ts';
import { installRegistry, REGISTRY_SERVICE, DEFAULT_PATHS as REGISTRY_PATHS } from '../registry/service.ts';
import { verifyRegistry } from '../registry/verify.ts';
import { acquireHostLocks } from '../state/host-lock.ts';
import { stateFiles } from '../state/paths.ts';
import { readCheckedHosts, uncheckedHosts, writeCheckedHosts } from '../state/checked-hosts.ts';
import {
  clusterSpec, controllers, firstController, host, keySetInput, nodeSpecs, registryHostConfig, registryStorage, registryUrl,
  type InstallContext, type VerifyResult,
} from './install-context.ts';
import { parseNotes, parseProbe, prepareProbe, prepareScript, type PrepareInput } from './prepare.ts';
import type { Phase } from './types.ts';

/**
 * The install phases, in order (DESIGN.md "Install phases"). Each checks the
 * real state before acting (`shouldRun`), acts, and leaves verification to the
 * verify phase. They only compose the modules that do the work.
 */
type P = Phase<InstallContext>;
const allHosts = (ctx: InstallContext): string[] => ctx.config.hosts.map((h) => h.name);

// ---- keystore and keys (loading is not a change: later phases need the keys even when `keys` has nothing to do) ----
async function keystoreOf(ctx: InstallContext, create: boolean): Promise<Keystore | undefined> {
  if (ctx.keystore) return ctx.keystore;
  if (await keystoreExists(ctx.keystorePath)) ctx.keystore = await openKeystore(ctx.keystorePath, { passphrase: await ctx.passphrase(false) });
  else if (create && !ctx.dryRun) ctx.keystore = await createKeystore(ctx.keystorePath, { cluster: ctx.config.cluster.name, passphrase: await ctx.passphrase(true) });
  return ctx.keystore;
}

function missingKeys(ctx: InstallContext, ks: Keystore | undefined): string[] {
  return keySetSpecs(keySetInput(ctx.config)).map((s) => s.name).filter((n) => !ks?.get(n));
}

async function keysOf(ctx: InstallContext): Promise<KeySet> {
  if (ctx.keys) return ctx.keys;
  const ks = await keystoreOf(ctx, false);
  if (!ks || missingKeys(ctx, ks).length) throw new PalisadeError('install.keys', 'the keystore does not hold the cluster keys yet', { hint: 'run the install from the `keys` phase (or without --from/--only)' });
  ctx.keys = keySetView(keySetInput(ctx.config), ks);
  return ctx.keys;
}

// ---- cluster helpers ----
const dataDirs = new WeakMap<InstallContext, Map<string, string | undefined>>();
/** the cluster's data dir: on the encrypted volume when it is mounted, else k3s's default */
async function dataDirFor(ctx: InstallContext, name: string): Promise<string | undefined> {
  let m = dataDirs.get(ctx);
  if (!m) dataDirs.set(ctx, (m = new Map()));
  if (m.has(name)) return m.get(name);
  const hc = ctx.config.hosts.find((h) => h.name === name)!;
  const mp = hostEncryptionSettings(ctx.config, hc).mountPoint ?? DEFAULT_MOUNT_POINT;
  const r = await host(ctx, name).exec(sh`mountpoint -q ${mp} && echo mounted || true`, { sudo: true });
  const dir = r.stdout.trim() === 'mounted' ? `${mp}/k3s` : undefined;
  m.set(name, dir);
  return dir;
}

async function specFor(ctx: InstallContext, node: NodeSpec): Promise<ClusterSpec> {
  return clusterSpec(ctx.config, await keysOf(ctx), await dataDirFor(ctx, node.name));
}

async function artifactsOf(ctx: InstallContext): Promise<NonNullable<InstallContext['artifacts']>> {
  if (ctx.artifacts) return ctx.artifacts;
  const b = ctx.bundle!;
  if (!b.has('bin/k3s')) throw new PalisadeError('install.bundle', `the bundle ${b.path} has no bin/k3s`, { hint: 'build the bundle from a release spec that ships k3s' });
  const images = [...b.files.keys()].find((p) => /^files\/k3s-airgap-images[^/]*\.tar(\.(zst|gz))?$/.test(p));
  ctx.artifacts = { binary: await b.localPath('bin/k3s'), ...(images ? { imagesTarball: await b.localPath(images) } : {}) };
  return ctx.artifacts;
}

const prepareInput = (ctx: InstallContext): PrepareInput => ({ fqdn: ctx.config.cluster.fqdn, fqdnAddress: ctx.config.cluster.vip ?? firstController(ctx.config).address });

async function manifestObjects(ctx: InstallContext): Promise<KubeObject[]> {
  const k = await keysOf(ctx);
  const reg = k.secrets.registry;
  const imported = ctx.keystore?.get(KEY_NAMES.ingress);
  const ingress = imported?.meta?.cert ? { cert: imported.meta.cert + (imported.meta.chain ?? ''), key: imported.value, source: 'imported' } : { cert: k.ingressFallback.chainPem, key: k.ingressFallback.keyPem, source: 'generated' };
  const auth = b64(`${reg.username}:${reg.password}`);
  const m = ctx.bundle?.manifest;
  return renderManifests({
    secretsAtRestKey: b64(k.secrets.secretsAtRestKey),
    jwtPrivateKey: b64(k.secrets.jwtSigningKey.privateKeyPem),
    jwtPublicKey: b64(k.secrets.jwtSigningKey.publicKeyPem),
    passwordSalt: b64(k.secrets.passwordSalt),
    rootCaCert: b64(k.rootCa.certPem),
    intermediateCaCert: b64(k.intermediateCa.certPem),
    dockerConfigJson: b64(JSON.stringify({ auths: { [registryUrl(ctx.config).replace(/^https:\/\//, '')]: { username: reg.username, password: reg.password, auth } } })),
    ingressCert: b64(ingress.cert),
    ingressKey: b64(ingress.key),
    ingressSource: ingress.source,
    fqdn: ctx.config.cluster.fqdn,
    registry: registryUrl(ctx.config),
    bundle: m ? `${m.name} ${m.version}` : '',
    version: m?.version ?? '',
  });
}

const apiHost = (ctx: InstallContext) => host(ctx, firstController(ctx.config).name);

// ---- the phases ----
export const bundlePhase: P = {
  id: 'bundle',
  title: 'Verify the bundle',
  always: true,
  readOnly: true,
  shouldRun: () => true,
  async run(ctx, task) {
    const r = await verifyBundle(ctx.bundlePath, ctx.trustedKey);
    ctx.bundle = await openBundle(ctx.bundlePath);
    task.output(`${ctx.bundle.manifest.name} ${ctx.bundle.manifest.version}: ${r.files ?? ''} files verified, signature good`);
  },
  dryRun: (ctx) => [`verify ${ctx.bundlePath} (checksums and signature)`],
};

export const connectPhase: P = {
  id: 'connect',
  title: 'Connect to the hosts (pinned host keys) and lock them',
  always: true,
  readOnly: true,
  shouldRun: () => true,
  async run(ctx, task) {
    const { hosts, failures } = await ctx.connect(ctx.config, ctx.baseDir);
    for (const [n, h] of hosts) ctx.hosts.set(n, h);
    if (failures.length) {
      throw new PalisadeError('install.connect', `${failures.length} host(s) could not be reached: ${failures.map((f) => f.name).join(', ')}`, {
        details: failures.map((f) => ({ path: f.name, message: f.error.message, ...(f.error.hint ? { hint: f.error.hint } : {}) })),
        hint: 'bring the hosts back (or fix SSH access), then run the same command again: it resumes',
      });
    }
    if (!ctx.dryRun) {
      ctx.hostLocks = await acquireHostLocks([...ctx.hosts.values()], { runId: ctx.runId, concurrency: ctx.config.ssh.concurrency });
      for (const t of ctx.hostLocks.tookOver) task.note(`${t.host}: took over a stale install lock of pid ${t.previous.pid} on ${t.previous.admin}`);
    }
    ctx.machineIds = await readMachineIds(ctx);
    const checkedFile = stateFiles(ctx.stateDir).checkedHosts;
    const checked = await readCheckedHosts(checkedFile);
    if (checked !== undefined) {
      ctx.preflightTargets = uncheckedHosts(checked, ctx.machineIds);
    } else if (ctx.journal?.phase('preflight')?.status === 'done') {
      // preflight passed before its hosts were recorded: these are the hosts it passed on
      if (!ctx.dryRun) await writeCheckedHosts(checkedFile, Object.fromEntries(ctx.machineIds));
      ctx.preflightTargets = [];
    } else {
      ctx.preflightTargets = allHosts(ctx);
    }
    task.output(`${hosts.size} host(s) connected${ctx.dryRun ? '' : ' and locked'}`);
  },
  dryRun: (ctx) => [`connect to ${allHosts(ctx).join(', ')}`],
};

export const factsPhase: P = {
  id: 'facts',
  title: 'Gather host facts',
  readOnly: true,
  perHost: allHosts,
  // facts feed preflight, which gates the first install, and a host that is new or replaced since
  shouldRun: (ctx, i) => (ctx.preflightTargets ?? allHosts(ctx)).includes(i.host!),
  async run(ctx, task, name) {
    const hc = ctx.config.hosts.find((h) => h.name === name)!;
    const f = await gatherFacts(host(ctx, name!), { fqdn: ctx.config.cluster.fqdn, ...(hc.dataDisk ? { dataDisk: hc.dataDisk } : {}) });
    ctx.facts.set(name!, f);
    task.output(`${f.name}: gathered`);
  },
  dryRun: () => ['gather facts (one probe)'],
};

export const preflightPhase: P = {
  id: 'preflight',
  title: 'Preflight checks',
  readOnly: true,
  // the hosts it has passed on are recorded, so a failed re-check of one host does not put the others back in
  shouldRun: (ctx) => (ctx.preflightTargets ?? allHosts(ctx)).length > 0,
  async run(ctx, task) {
    // once preflight has passed only new or replaced hosts are checked: the others now hold
    // the appliance's own ports and encrypted disks, which preflight would call taken
    const names = ctx.preflightTargets ?? allHosts(ctx);
    const firstRun = names.length === ctx.config.hosts.length;
    const targets = ctx.config.hosts.filter((h) => names.includes(h.name));
    for (const h of targets) {
      if (!ctx.facts.has(h.name)) ctx.facts.set(h.name, await gatherFacts(host(ctx, h.name), { fqdn: ctx.config.cluster.fqdn, ...(h.dataDisk ? { dataDisk: h.dataDisk } : {}) }));
    }
    const admin = await localFacts({ fqdn: ctx.config.cluster.fqdn }).catch(() => undefined);
    const r = evaluate({ config: ctx.config, hosts: targets.map((h) => ({ config: h, facts: ctx.facts.get(h.name)! })), ...(admin ? { admin } : {}), ignore: ctx.config.preflight.ignore });
    const fails = r.findings.filter((f) => f.status === 'fail');
    if (fails.length) {
      throw new PalisadeError('install.preflight', `preflight: ${fails.length} check(s) failed; nothing was changed`, {
        details: fails.map((f) => ({ path: `${f.host} ${f.id}`, message: `${f.title}: ${f.measured} (needs ${f.required})`, ...(f.fix ? { hint: f.fix } : {}) })),
        hint: 'fix each failure (or waive it in preflight.ignore with a reason), then run the install again; `palisade preflight` shows the full table',
      });
    }
    if (!ctx.dryRun && ctx.machineIds) {
      const file = stateFiles(ctx.stateDir).checkedHosts;
      const checked = (await readCheckedHosts(file)) ?? {};
      for (const h of targets) {
        const id = ctx.machineIds.get(h.name);
        if (id) checked[h.name] = id;
      }
      await writeCheckedHosts(file, checked);
    }
    task.output(`${r.summary.pass} passed, ${r.summary.warn} warnings, ${r.summary.waived} waived${firstRun ? '' : ` (new or replaced: ${targets.map((h) => h.name).join(', ')})`}`);
  },
  dryRun: () => ['check every host against the sizing profile (palisade preflight)'],
};

export const preparePhase: P = {
  id: 'prepare',
  title: 'Prepare the hosts (sysctls, kernel modules, swap, FQDN in /etc/hosts)',
  perHost: allHosts,
  async shouldRun(ctx, i) {
    const r = await host(ctx, i.host!).exec(prepareProbe(prepareInput(ctx)), { sudo: true });
    return parseProbe(r.stdout).length > 0;
  },
  async run(ctx, task, name) {
    const r = await host(ctx, name!).exec(prepareScript(prepareInput(ctx)), { sudo: true });
    if (r.code !== 0) throw new PalisadeError('install.prepare', `${name}: preparing the host failed (exit ${r.code}): ${r.stderr.trim().split('\n').pop() ?? ''}`);
    for (const n of parseNotes(r.stdout)) task.note(`${name}: ${n}`);
  },
  dryRun: (ctx) => [`write sysctls and modules-load files, load overlay and br_netfilter, turn swap off, point ${ctx.config.cluster.fqdn} at ${prepareInput(ctx).fqdnAddress} in /etc/hosts`],
};

export const encryptPhase: P = {
  id: 'encrypt',
  title: 'Encrypt the data disks (LUKS2, recovery keys escrowed first)',
  async shouldRun(ctx) {
    if (ctx.config.encryption.mode === 'none' && !ctx.config.hosts.some((h) => h.encryption?.mode && h.encryption.mode !== 'none')) return false;
    const ks = await keystoreOf(ctx, false);
    const { facts } = await gatherAll(ctx.config, [...ctx.hosts.values()], ctx.config.ssh.concurrency);
    // no keystore yet holds no recovery key: a palisade-made disk is then not ours to keep
    const plan = planEncryption({ config: ctx.config, facts, escrow: ks ? escrowIndex(ctx.config, ks) : new Map() });
    const work = planHasWork(plan); // a refusal counts: the run then stops with its reasons
    ctx.disksInPlace = !work && plan.hosts.every((h) => h.blockers.length === 0);
    return work;
  },
  async run(ctx, task) {
    const ks = (await keystoreOf(ctx, true))!;
    const r = await applyEncryption({ config: ctx.config, hosts: [...ctx.hosts.values()], keystore: ks, allowUnopened: ctx.config.encryption.allowUnopened, onProgress: (e) => task.output(`${e.host}${e.device ? ` ${e.device}` : ''}: ${e.step}${e.detail ? ` (${e.detail})` : ''}`) });
    for (const h of r.hosts) for (const d of h.disks) task.note(`${h.host} ${d.device}: ${d.outcome}, ${d.state}`);
    const bad = r.hosts.filter((h) => !h.ok);
    if (bad.length) {
      throw new PalisadeError('install.encrypt', `disk encryption failed on ${bad.map((h) => h.host).join(', ')}`, {
        details: bad.map((h) => ({ path: h.host, message: h.error?.message ?? 'failed', ...(h.error?.hint ? { hint: h.error.hint } : {}) })),
      });
    }
    // apply verified every disk it touched (header, pins, escrowed key): verify need not do it again
    ctx.disksInPlace = true;
  },
  dryRun: (ctx) => [`encrypt the data disks (${ctx.config.encryption.mode}); recovery keys go to the keystore first`],
};

export const keysPhase: P = {
  id: 'keys',
  title: 'Generate keys and certificates (or load them from the keystore)',
  async shouldRun(ctx) {
    return missingKeys(ctx, await keystoreOf(ctx, false)).length > 0;
  },
  async run(ctx, task) {
    const ks = (await keystoreOf(ctx, true))!;
    const made = await ensureKeySet(keySetInput(ctx.config), ks);
    await ks.save();
    ctx.keys = keySetView(keySetInput(ctx.config), ks);
    task.output(`${made.length} key(s) generated and saved to ${ctx.keystorePath}`);
  },
  dryRun: (ctx) => [`generate the CA chain, certificates and service secrets into ${ctx.keystorePath}`],
};

/** A host behind the jump host is not reachable from here: HTTPS to it goes through its own SSH connection (TLS verified as usual). */
function tunnelTo(ctx: InstallContext, name: string): { connect?: OpenStream } {
  return ctx.config.hosts.find((h) => h.name === name)?.viaJumpHost ? { connect: viaHost(host(ctx, name)) } : {};
}

async function registryState(ctx: InstallContext): Promise<string | undefined> {
  const keys = await keysOf(ctx);
  const h = host(ctx, registryHostConfig(ctx.config).name);
  const want = (await import('node:crypto')).createHash('sha256').update(keys.registry.chainPem).digest('hex');
  const r = await h.exec(sh`systemctl is-active ${REGISTRY_SERVICE}; sha256sum < ${`${REGISTRY_PATHS.configDir}/tls.crt`} 2>/dev/null | cut -d' ' -f1`, { sudo: true });
  const [active, sum] = r.stdout.trim().split('\n');
  if (active?.trim() !== 'active') return `${REGISTRY_SERVICE} is ${active?.trim() || 'not installed'}`;
  if (sum?.trim() !== want) return 'its certificate is not the one in the keystore';
  const c = new RegistryClient({ ...(await registryAccess(ctx)), attempts: 1 });
  try {
    await c.ping();
  } catch (e) {
    return `it does not answer: ${errorMessage(e)}`;
  } finally {
    c.close();
  }
  return undefined;
}

export const registryPhase: P = {
  id: 'registry',
  title: 'Start the pack registry (TLS, auth, storage on the data disk)',
  shouldRun: async (ctx) => (await registryState(ctx)) !== undefined,
  async run(ctx, task) {
    const keys = await keysOf(ctx);
    const reg = keys.secrets.registry;
    const h = host(ctx, registryHostConfig(ctx.config).name);
    const r = await installRegistry(h, {
      bundle: ctx.bundle!,
      cert: keys.registry.chainPem,
      key: keys.registry.keyPem,
      htpasswd: reg.htpasswd ? `${reg.htpasswd.trim()}\n` : { username: reg.username, password: reg.password },
      port: ctx.config.registry.port,
      storageDir: registryStorage(ctx.config),
      health: { url: registryUrl(ctx.config), ca: keys.rootCa.certPem, username: reg.username, password: reg.password, ...tunnelTo(ctx, h.name) },
    });
    task.output(`${r.url}: ${r.changed.length} file(s) changed${r.restarted ? ', restarted' : ''}`);
  },
  dryRun: (ctx) => [`install and start ${REGISTRY_SERVICE} on ${registryHostConfig(ctx.config).name} at ${registryUrl(ctx.config)}`],
};

const registryAccess = async (ctx: InstallContext) => {
  const keys = await keysOf(ctx);
  return { url: registryUrl(ctx.config), ca: keys.rootCa.certPem, username: keys.secrets.registry.username, password: keys.secrets.registry.password, ...tunnelTo(ctx, registryHostConfig(ctx.config).name) };
};

export const seedPhase: P = {
  id: 'seed',
  title: 'Seed the registry from the bundle (images and packs)',
  async shouldRun(ctx) {
    const r = await verifyRegistry({ ...(await registryAccess(ctx)), bundle: ctx.bundle! });
    return !r.ok;
  },
  async run(ctx, task) {
    const r = await seedRegistry({ ...(await registryAccess(ctx)), bundle: ctx.bundle!, onProgress: (p) => task.output(`${p.phase}: ${p.blobsDone}/${p.blobsTotal} blobs, ${p.manifestsDone}/${p.manifestsTotal} manifests`) });
    task.output(`${r.images} images, ${r.packs} packs; ${r.blobs.uploaded} blobs uploaded, ${r.blobs.present} already there`);
  },
  dryRun: (ctx) => [`push the bundle's images and packs to ${registryUrl(ctx.config)} (missing blobs only)`],
};

async function clusterWork(ctx: InstallContext): Promise<string[]> {
  const art = await artifactsOf(ctx);
  const api = apiHost(ctx);
  const out: string[] = [];
  const checks = await settleLimit(nodeSpecs(ctx.config), ctx.config.ssh.concurrency, async (n) => ({ n, c: await ctx.driver.check(host(ctx, n.name), n, await specFor(ctx, n), art, api) }));
  for (const r of checks) {
    if (r.status === 'rejected') throw r.reason;
    const { n, c } = r.value;
    if (c.changed.length) out.push(`${n.name}: ${c.changed.length} file(s) to write (${c.changed.join(', ')})`);
    else if (!c.active) out.push(`${n.name}: service not running`);
    else if (!c.ready) out.push(`${n.name}: not ready`);
  }
  try {
    await stat(stateFiles(ctx.stateDir).kubeconfig);
  } catch {
    out.push('kubeconfig not fetched yet');
  }
  return out;
}

export const clusterPhase: P = {
  id: 'cluster',
  title: 'Bootstrap the management cluster (first controller, other controllers, workers)',
  shouldRun: async (ctx) => (await clusterWork(ctx)).length > 0,
  async run(ctx, task) {
    const art = await artifactsOf(ctx);
    const nodes = nodeSpecs(ctx.config);
    const api = apiHost(ctx);
    const timeoutMs = Number(process.env.PALISADE_CLUSTER_TIMEOUT_MS ?? 300_000);
    const one = async (n: NodeSpec) => {
      const h = host(ctx, n.name);
      const spec = await specFor(ctx, n);
      const o = { timeoutMs, signal: ctx.signal, onProgress: (l: string) => task.output(`${n.name}: ${l}`) };
      await ctx.journal?.mark('cluster', n.name, 'running');
      try {
        if (n.role === 'first') await ctx.driver.initFirstServer(h, n, spec, art, o);
        else if (n.role === 'server') await ctx.driver.joinServer(h, n, spec, art, api, o);
        else await ctx.driver.joinAgent(h, n, spec, art, api, o);
      } catch (e) {
        await ctx.journal?.mark('cluster', n.name, 'failed', { error: errorMessage(e) });
        throw e;
      }
      await ctx.journal?.mark('cluster', n.name, 'done');
      task.output(`${n.name}: ready`);
    };
    // files on every node at once (the k3s binary is the big upload), then the first controller, the
    // other controllers one at a time (etcd quorum), the workers together
    const staged = await settleLimit(nodes, ctx.config.ssh.concurrency, async (n) => {
      const changed = await ctx.driver.install(host(ctx, n.name), n, await specFor(ctx, n), art);
      if (changed.length) task.output(`${n.name}: ${changed.length} file(s) in place`);
    });
    const stageFailed = staged.flatMap((r, i) => (r.status === 'rejected' ? [{ n: nodes[i]!, e: r.reason as unknown }] : []));
    if (stageFailed.length === 1) throw stageFailed[0]!.e;
    if (stageFailed.length) throw new PalisadeError('install.cluster', `cannot put the cluster files on ${stageFailed.length} host(s)`, { details: stageFailed.map((f) => ({ path: f.n.name, message: errorMessage(f.e) })) });
    const [firstNode, ...rest] = nodes;
    await one(firstNode!);
    // once the first controller is up: the other controllers one at a time, the workers meanwhile
    const servers = rest.filter((x) => x.role === 'server');
    const agents = rest.filter((x) => x.role === 'agent');
    const [sr, ar] = await Promise.allSettled([
      (async () => {
        for (const n of servers) {
          ctx.signal.throwIfAborted();
          await one(n);
        }
      })(),
      settleLimit(agents, ctx.config.ssh.concurrency, one),
    ]);
    const failed = [
      ...(sr.status === 'rejected' ? [{ n: undefined, e: sr.reason as unknown }] : []),
      ...(ar.status === 'fulfilled' ? ar.value.flatMap((r, i) => (r.status === 'rejected' ? [{ n: agents[i]!, e: r.reason as unknown }] : [])) : [{ n: undefined, e: ar.reason as unknown }]),
    ];
    if (failed.length === 1) throw failed[0]!.e;
    if (failed.length) throw new PalisadeError('install.cluster', `${failed.length} node(s) did not join`, { details: failed.map((f) => ({ path: f.n?.name ?? 'controllers', message: errorMessage(f.e) })) });
    const kc = await ctx.driver.kubeconfig(api, ctx.config.cluster.fqdn);
    await writeFileAtomic(stateFiles(ctx.stateDir).kubeconfig, kc, { mode: 0o600, mkdirp: true });
    task.output(`kubeconfig: ${stateFiles(ctx.stateDir).kubeconfig}`);
  },
  dryRun: (ctx) => {
    const n = nodeSpecs(ctx.config);
    return [`install ${ctx.driver.name} from the bundle on ${n.map((x) => x.name).join(', ')}`, `init ${n[0]!.name}, join ${n.filter((x) => x.role === 'server').map((x) => x.name).join(', ') || 'no other controllers'}, then workers ${n.filter((x) => x.role === 'agent').map((x) => x.name).join(', ') || '(none)'}`];
  },
};

/** The manifest objects missing from the cluster or different there (two kubectl calls, whatever the count). */
async function secretsOutOfPlace(ctx: InstallContext): Promise<string[]> {
  const api = apiHost(ctx);
  const want = await manifestObjects(ctx);
  const namespaces = [...new Set(want.flatMap((o) => (o.metadata.namespace ? [o.metadata.namespace] : [])))];
  const live = new Map<string, KubeObject>();
  const key = (o: KubeObject) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
  const clusterScoped = want.filter((o) => !o.metadata.namespace);
  for (const o of clusterScoped) {
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

export const secretsPhase: P = {
  id: 'secrets',
  title: 'Store keys in the cluster (palisade-system Secrets, pull secret, ingress TLS)',
  async shouldRun(ctx) {
    return (await secretsOutOfPlace(ctx)).length > 0;
  },
  async run(ctx, task) {
    const res = await ctx.driver.apply(apiHost(ctx), await manifestObjects(ctx));
    task.output(res.join(', '));
  },
  dryRun: () => ['apply manifests/ to namespace palisade-system (service secrets, CA, registry pull secret, ingress TLS)'],
};

/** GET /readyz on one controller, addressed by IP but verified as the FQDN, with the kubeconfig's credentials. */
export function apiReady(address: string, fqdn: string, kc: { ca: string; cert: string; key: string }, connect?: OpenStream): Promise<string> {
  return new Promise((resolve, reject) => {
    const via = connect ? { createConnection: tlsOver(connect) } : {};
    const req = request({ host: address, port: API_PORT, path: '/readyz', servername: fqdn, ca: kc.ca, cert: kc.cert, key: kc.key, timeout: 10_000, ...via }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => (res.statusCode === 200 ? resolve(body.trim()) : reject(new Error(`HTTP ${res.statusCode}: ${body.trim().slice(0, 200)}`))));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

export function kubeconfigCreds(text: string): { ca: string; cert: string; key: string } {
  const k = parse(text) as { clusters: Array<{ cluster: Record<string, string> }>; users: Array<{ user: Record<string, string> }> };
  const d = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString();
  return { ca: d(k.clusters[0]?.cluster['certificate-authority-data']), cert: d(k.users[0]?.user['client-certificate-data']), key: d(k.users[0]?.user['client-key-data']) };
}

export async function verifyInstall(ctx: InstallContext): Promise<VerifyResult> {
  const checks: VerifyResult['checks'] = [];
  const add = async (name: string, fn: () => Promise<string>) => {
    try {
      checks.push({ name, ok: true, detail: await fn() });
    } catch (e) {
      checks.push({ name, ok: false, detail: errorMessage(e) });
    }
  };
  const kc = kubeconfigCreds(await readFile(stateFiles(ctx.stateDir).kubeconfig, 'utf8'));
  await Promise.all(controllers(ctx.config).map((c) => add(`API ${ctx.config.cluster.fqdn} on ${c.name}`, () => apiReady(c.address, ctx.config.cluster.fqdn, kc, tunnelTo(ctx, c.name).connect))));
  if (ctx.config.cluster.vip) await add(`API on VIP ${ctx.config.cluster.vip}`, () => apiReady(ctx.config.cluster.vip!, ctx.config.cluster.fqdn, kc));
  await add('nodes Ready', async () => {
    const list = await ctx.driver.get(apiHost(ctx), 'nodes');
    const items = list?.items ?? [];
    const notReady = ctx.config.hosts.filter((h) => !items.some((n) => n.metadata.name === h.name && n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')));
    if (notReady.length) throw new Error(`not Ready: ${notReady.map((h) => h.name).join(', ')}`);
    return `${items.length} node(s) Ready`;
  });
  await add(`registry ${registryUrl(ctx.config)}`, async () => {
    const a = await registryAccess(ctx);
    const c = new RegistryClient({ ...a, attempts: 2 });
    try {
      await c.ping();
    } finally {
      c.close();
    }
    return 'serving with the palisade CA, credentials accepted';
  });
  await add('secrets in palisade-system', async () => {
    const missing = await secretsOutOfPlace(ctx);
    if (missing.length) throw new Error(`missing or different: ${missing.join(', ')}`);
    return `${(await manifestObjects(ctx)).length} object(s) present`;
  });
  const encrypting = ctx.config.encryption.mode !== 'none' || ctx.config.hosts.some((h) => h.encryption?.mode && h.encryption.mode !== 'none');
  if (encrypting && ctx.disksInPlace) checks.push({ name: 'data disks bound', ok: true, detail: 'LUKS2 headers and bindings as configured (checked by the encrypt phase in this run)' });
  else if (encrypting) {
    await add('data disks bound', async () => {
      const s = await encryptionStatus({ config: ctx.config, hosts: [...ctx.hosts.values()] });
      const bad = s.hosts.filter((h) => !h.ok);
      if (bad.length) throw new Error(bad.map((h) => `${h.host}: ${h.error ?? h.problems.join('; ') ?? h.disks.filter((d) => !d.ok).map((d) => `${d.device} ${d.reason}`).join('; ')}`).join('; '));
      return s.hosts.flatMap((h) => h.disks.map((d) => `${h.host} ${d.device}: ${d.state}`)).join(', ');
    });
  }
  return { ok: checks.every((c) => c.ok), checks };
}

export const verifyPhase: P = {
  id: 'verify',
  title: 'Verify (API through the FQDN on every controller, registry, nodes, secrets, disks)',
  readOnly: true,
  shouldRun: () => true,
  async run(ctx, task) {
    const r = await verifyInstall(ctx);
    ctx.report.verify = r;
    if (!r.ok) {
      throw new PalisadeError('install.verify', `verification failed: ${r.checks.filter((c) => !c.ok).length} check(s)`, {
        details: r.checks.filter((c) => !c.ok).map((c) => ({ path: c.name, message: c.detail })),
        hint: 'fix the cause, then run the install again; finished work is skipped',
      });
    }
    task.output(`${r.checks.length} checks passed`);
  },
  dryRun: () => ['check the API on every controller through the FQDN, the registry, node readiness, the secrets and the disks'],
};

export interface InstallReport {
  apiVersion: 'palisade/install-report-v1';
  cluster: string;
  fqdn: string;
  generatedAt: string;
  bundle: { name: string; version: string; path: string } | undefined;
  versions: { palisade: string; cluster: string | undefined };
  hosts: Array<{ name: string; role: string; address: string }>;
  endpoints: { api: string; registry: string; ingress: string };
  certificates: Array<{ name: string; expiresAt: string }>;
  keystore: string;
  kubeconfig: string;
  verify: VerifyResult | undefined;
  notes: Array<{ phase: string; host?: string; note: string }>;
  backup: string[];
}

export function renderSummary(r: InstallReport): string {
  const lines = [
    `palisade appliance "${r.cluster}" is installed${r.verify?.ok ? ' and verified' : ''}`,
    `  bundle      ${r.bundle ? `${r.bundle.name} ${r.bundle.version}` : '?'}; cluster ${r.versions.cluster ?? '?'}`,
    `  hosts       ${r.hosts.map((h) => `${h.name} (${h.role}, ${h.address})`).join(', ')}`,
    `  API         ${r.endpoints.api}`,
    `  registry    ${r.endpoints.registry}`,
    `  ingress     ${r.endpoints.ingress}`,
    `  kubeconfig  ${r.kubeconfig}`,
    `  keystore    ${r.keystore}`,
    `  certificates expire: ${r.certificates.map((c) => `${c.name} ${c.expiresAt.slice(0, 10)}`).join(', ')}`,
    ...(r.notes.length ? ['  notes:', ...r.notes.map((n) => `    - ${n.note}`)] : []),
    '  back up (offline, with the passphrase kept apart):',
    ...r.backup.map((b) => `    - ${b}`),
  ];
  return lines.join('\n') + '\n';
}

/** The CAs, the API, registry and ingress certificates, and the host certificate that expires first. */
function certificateSummary(keys: KeySet): Array<{ name: string; expiresAt: string }> {
  const main = [KEY_NAMES.rootCa, KEY_NAMES.intermediateCa, KEY_NAMES.api, KEY_NAMES.registry, KEY_NAMES.ingress, KEY_NAMES.ingressFallback];
  const withExpiry = keys.entries.filter((e) => e.expiresAt);
  const firstHost = withExpiry.filter((e) => e.name.startsWith('tls/host/')).sort((a, b) => a.expiresAt!.localeCompare(b.expiresAt!))[0];
  return [...withExpiry.filter((e) => (main as readonly string[]).includes(e.name)), ...(firstHost ? [firstHost] : [])].map((e) => ({ name: e.name, expiresAt: e.expiresAt! }));
}

export const reportPhase: P = {
  id: 'report',
  title: 'Write the install report',
  readOnly: true,
  shouldRun: () => true,
  async run(ctx, task) {
    const keys = await keysOf(ctx);
    const files = stateFiles(ctx.stateDir);
    const fqdn = ctx.config.cluster.fqdn;
    const r: InstallReport = {
      apiVersion: 'palisade/install-report-v1',
      cluster: ctx.config.cluster.name,
      fqdn,
      generatedAt: new Date().toISOString(),
      bundle: ctx.bundle ? { name: ctx.bundle.manifest.name, version: ctx.bundle.manifest.version, path: ctx.bundlePath } : undefined,
      versions: { palisade: buildInfo().version, cluster: await ctx.driver.version(apiHost(ctx)).catch(() => undefined) },
      hosts: ctx.config.hosts.map((h) => ({ name: h.name, role: h.role, address: h.address })),
      endpoints: { api: `https://${fqdn}:${API_PORT}`, registry: registryUrl(ctx.config), ingress: `https://${fqdn}` },
      certificates: certificateSummary(keys),
      keystore: ctx.keystorePath,
      kubeconfig: files.kubeconfig,
      verify: ctx.report.verify,
      notes: ctx.report.notes,
      backup: [`${ctx.keystorePath} (every secret; encrypted with the keystore passphrase)`, `${ctx.stateDir}/ (journal, kubeconfig, reports)`, ctx.configPath],
    };
    await writeFileAtomic(files.report, JSON.stringify(r, null, 2) + '\n', { mode: 0o600, mkdirp: true });
    await writeFileAtomic(files.summary, renderSummary(r), { mode: 0o600, mkdirp: true });
    task.output(files.report);
  },
  dryRun: (ctx) => [`write ${join(ctx.stateDir, 'install-report.json')}`],
};

export const INSTALL_PHASES: readonly P[] = [
  bundlePhase, connectPhase, factsPhase, preflightPhase, preparePhase, encryptPhase, keysPhase,
  registryPhase, seedPhase, clusterPhase, secretsPhase, verifyPhase, reportPhase,
];

/** /etc/machine-id of every connected host: who the host is, for preflight's "already checked". */
async function readMachineIds(ctx: InstallContext): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  await settleLimit([...ctx.hosts], ctx.config.ssh.concurrency, async ([name, h]) => {
    const r = await h.exec('cat /etc/machine-id');
    const id = r.stdout.trim();
    if (r.code === 0 && /^[0-9a-f]{32}$/.test(id)) ids.set(name, id);
  });
  return ids;
}
