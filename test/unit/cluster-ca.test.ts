/**
 * The cluster's CAs from palisade's PKI, as the k3s driver renders them: the custom CA file set k3s
 * reads from <data-dir>/server/tls, the full join token with the root's hash, and whether a cluster
 * already runs on CAs of its own (then nothing is placed).
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { caHash, clusterCaFiles, fullToken } from '../../installer/cluster/k3s-ca.ts';
import { renderK3sConfig } from '../../installer/cluster/k3s-render.ts';
import { K3sDriver } from '../../installer/cluster/k3s.ts';
import type { ClusterCa, ClusterSpec, NodeSpec } from '../../installer/cluster/types.ts';
import { contentSha256 } from '../../installer/hosts/files.ts';
import { clusterCaOf } from '../../installer/phases/install/shared/cluster.ts';
import { generateKeySet, type KeySet } from '../../installer/pki/keyset.ts';
import { FakeHost } from '../fixtures/fake-host.ts';

let keys: KeySet;
let ca: ClusterCa;
let spec: ClusterSpec;
const first: NodeSpec = { name: 'host1', address: '10.0.0.1', role: 'first' };
const second: NodeSpec = { name: 'host2', address: '10.0.0.2', role: 'server' };
const agent: NodeSpec = { name: 'host4', address: '10.0.0.4', role: 'agent' };
const TLS = '/var/lib/palisade/k3s/server/tls';

beforeAll(async () => {
  keys = await generateKeySet({ cluster: 'unit', fqdn: 'palisade.unit.internal', hosts: [{ name: 'host1', address: '10.0.0.1', role: 'controller' }] });
  ca = clusterCaOf(keys)!;
  spec = {
    token: 'the-join-secret-0123',
    fqdn: 'palisade.unit.internal',
    podCidr: '10.42.0.0/16',
    serviceCidr: '10.43.0.0/16',
    firstServer: { name: 'host1', address: '10.0.0.1' },
    dataDir: '/var/lib/palisade/k3s',
    clusterCa: ca,
  };
});

describe('the custom CA files the driver renders', () => {
  it('are the ten files k3s documents, under <data-dir>/server/tls, keys 0600', () => {
    const files = clusterCaFiles('/var/lib/palisade/k3s', ca);
    expect(files.map((f) => `${f.path} ${f.mode.toString(8)}`)).toEqual([
      `${TLS}/server-ca.crt 644`,
      `${TLS}/server-ca.key 600`,
      `${TLS}/client-ca.crt 644`,
      `${TLS}/client-ca.key 600`,
      `${TLS}/request-header-ca.crt 644`,
      `${TLS}/request-header-ca.key 600`,
      `${TLS}/etcd/peer-ca.crt 644`,
      `${TLS}/etcd/peer-ca.key 600`,
      `${TLS}/etcd/server-ca.crt 644`,
      `${TLS}/etcd/server-ca.key 600`,
    ]);
  });

  it("server-ca.crt is the server CA then the palisade root; the others hold their CA alone; every key is its certificate's", () => {
    const byPath = new Map(clusterCaFiles('/d', ca).map((f) => [f.path, (f.source as Buffer).toString()]));
    expect(byPath.get('/d/server/tls/server-ca.crt')).toBe(keys.clusterCa!.server.certPem + keys.rootCa.certPem);
    expect(byPath.get('/d/server/tls/client-ca.crt')).toBe(keys.clusterCa!.client.certPem);
    expect(byPath.get('/d/server/tls/etcd/peer-ca.crt')).toBe(keys.clusterCa!.etcdPeer.certPem);
    for (const base of ['server-ca', 'client-ca', 'request-header-ca', 'etcd/peer-ca', 'etcd/server-ca']) {
      const x = new X509Certificate(byPath.get(`/d/server/tls/${base}.crt`)!);
      expect(x.checkPrivateKey(createPrivateKey(byPath.get(`/d/server/tls/${base}.key`)!)), base).toBe(true);
    }
  });

  it('each is a CA of its own, signed by the palisade root (not the intermediate), distinct from the others', () => {
    const root = new X509Certificate(keys.rootCa.certPem);
    const inter = new X509Certificate(keys.intermediateCa.certPem);
    const subjects = new Set<string>();
    for (const role of ['server', 'client', 'requestHeader', 'etcdPeer', 'etcdServer'] as const) {
      const x = new X509Certificate(ca[role].certPem);
      expect(x.ca, role).toBe(true);
      expect(x.verify(root.publicKey), role).toBe(true);
      expect(x.verify(inter.publicKey), role).toBe(false);
      subjects.add(x.subject);
    }
    expect(subjects.size).toBe(5);
    expect(new X509Certificate(ca.server.certPem).subject).toMatch(/CN=palisade unit cluster server CA/);
  });
});

describe('the join token', () => {
  it("the CA hash is the root's fingerprint (SHA-256 of its DER), as k3s takes it for custom CAs", () => {
    expect(`sha256:${caHash(keys.rootCa.certPem)}`).toBe(keys.rootCa.fingerprint);
    expect(fullToken('s3cret', ca)).toBe(`K10${caHash(keys.rootCa.certPem)}::server:s3cret`);
  });

  it('joining controllers and workers get the full token; the first controller the secret; without palisade CAs, the secret everywhere', () => {
    const tok = (n: NodeSpec, s: ClusterSpec) => (parse(renderK3sConfig(n, s)) as { token: string }).token;
    expect(tok(first, spec)).toBe('the-join-secret-0123');
    expect(tok(second, spec)).toBe(fullToken('the-join-secret-0123', ca));
    expect(tok(agent, spec)).toBe(fullToken('the-join-secret-0123', ca));
    const { clusterCa: _, ...own } = spec;
    for (const n of [first, second, agent]) expect(tok(n, own)).toBe('the-join-secret-0123');
  });
});

describe('the k3s driver and the CA files', () => {
  const art = async () => {
    const p = join(await mkdtemp(join(tmpdir(), 'k3s-ca-')), 'k3s');
    await writeFile(p, '#!/bin/sh\n');
    return { binary: p };
  };

  it('controllers get the CA files, workers none; none at all for a cluster on CAs of its own', async () => {
    const d = new K3sDriver();
    const a = await art();
    const paths = async (n: NodeSpec, s: ClusterSpec) => (await d.desiredFiles(n, s, a)).map((f) => f.path).filter((p) => p.startsWith(TLS));
    expect(await paths(first, spec)).toHaveLength(10);
    expect(await paths(second, spec)).toHaveLength(10);
    expect(await paths(agent, spec)).toEqual([]);
    const { clusterCa: _, ...own } = spec;
    expect(await paths(first, own)).toEqual([]);
  });

  it('install makes the server directories 0700 before the keys go in', async () => {
    const h = new FakeHost('host1');
    await new K3sDriver().install(h, first, spec, await art());
    const mk = h.commands.findIndex((c) => /install -d -m 0700/.test(c.command) && c.command.includes(TLS));
    expect(mk).toBeGreaterThanOrEqual(0);
    expect(h.uploads.find((u) => u.path === `${TLS}/server-ca.key`)).toMatchObject({ mode: 0o600 });
    expect(h.uploads.find((u) => u.path === `${TLS}/server-ca.key`)!.data.toString()).toBe(keys.clusterCa!.server.keyPem);
  });

  it("whose CAs: palisade's when the first controller was never ready or holds them; its own when it started on others", async () => {
    const d = new K3sDriver();
    const mine = await contentSha256(Buffer.from(keys.clusterCa!.server.certPem + keys.rootCa.certPem));
    const answer = (out: string) => new FakeHost('host1').on(/palisade-initialized/, out);
    expect(await d.clusterCaInUse(answer(''), first, spec, ca)).toBe('palisade');
    expect(await d.clusterCaInUse(answer(`${mine}\n`), first, spec, ca)).toBe('palisade');
    expect(await d.clusterCaInUse(answer(`${'ab'.repeat(32)}\n`), first, spec, ca)).toBe('own');
    const h = answer('');
    await d.clusterCaInUse(h, first, spec, ca);
    expect(h.commands.at(-1)!.command).toContain(`${TLS}/server-ca.crt`);
  });
});
