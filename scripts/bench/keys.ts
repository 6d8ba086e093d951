/**
 * Keys: the whole `palisade keys generate` for a 3-controller cluster (process start-up, the
 * key set: root and intermediate CA, the five cluster CAs k3s is given, a server and a client certificate per host, registry,
 * ingress and API certificates, join token, secrets-at-rest key, Ed25519 JWT key, password
 * salt, registry password + bcrypt htpasswd line; then scrypt and the encrypted keystore
 * written atomically) against the whole shell script that makes the same set with the
 * openssl CLI (and `htpasswd -B` for the bcrypt line) and stores it encrypted with
 * `openssl enc -pbkdf2`. Whole command vs whole command.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { $ } from 'zx';
import type { KeySetInput } from '../../installer/pki/keyset.ts';
import { benchArgs, compare, PALISADE, report, runCommand } from './harness.ts';

const values = benchArgs(
  `usage: node --import tsx scripts/bench/keys.ts [--rounds 5]

The whole \`palisade keys generate\` (fresh directory, 3 controllers) against the whole
openssl CLI script for the same key set, stored encrypted.`,
  {},
  5,
);
const PASSPHRASE = 'benchmark passphrase';
const input: KeySetInput = {
  cluster: 'bench',
  fqdn: 'palisade.bench.internal',
  vip: '10.231.0.100',
  hosts: [1, 2, 3].map((i) => ({ name: `host${i}`, address: `10.231.0.${10 + i}`, role: 'controller' as const })),
};

/** The same set with the openssl CLI: one process per certificate (key made by `req -newkey`), CAs first. */
async function opensslScript(): Promise<{ script: string; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-openssl-'));
  writeFileSync(join(dir, 'min.cnf'), '[req]\ndistinguished_name = dn\n[dn]\n');
  const lines: string[] = [];
  const q = (x: string): string => `'${x.replace(/'/g, "'\\''")}'`;
  // each command is written down in order: the peer is the whole script, as an operator would run it
  const o = async (a: string[]): Promise<void> => {
    lines.push(a[0] === 'sh' && a[1] === '-c' ? (a[2] as string) : a.map(q).join(' '));
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-config', 'min.cnf'];
  const leaf = (name: string, cn: string, eku: string, san: string[]) =>
    o([
      'openssl',
      'req',
      '-x509',
      ...ec,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
      '-subj',
      `/O=palisade bench/CN=${cn}`,
      '-days',
      '365',
      '-sha256',
      '-CA',
      'int.pem',
      '-CAkey',
      'int.key',
      '-addext',
      'basicConstraints=critical,CA:FALSE',
      '-addext',
      'keyUsage=critical,digitalSignature',
      '-addext',
      `extendedKeyUsage=${eku}`,
      ...(san.length ? ['-addext', `subjectAltName=${san.join(',')}`] : []),
      '-addext',
      'subjectKeyIdentifier=hash',
      '-addext',
      'authorityKeyIdentifier=keyid',
    ]);
  await o([
    'openssl',
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'root.key',
    '-out',
    'root.pem',
    '-subj',
    '/O=palisade bench/CN=palisade bench root CA',
    '-days',
    '3650',
    '-sha256',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,digitalSignature,keyCertSign,cRLSign',
    '-addext',
    'subjectKeyIdentifier=hash',
  ]);
  await o([
    'openssl',
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'int.key',
    '-out',
    'int.pem',
    '-subj',
    '/O=palisade bench/CN=palisade bench intermediate CA',
    '-days',
    '1825',
    '-sha256',
    '-CA',
    'root.pem',
    '-CAkey',
    'root.key',
    '-addext',
    'basicConstraints=critical,CA:TRUE,pathlen:0',
    '-addext',
    'keyUsage=critical,digitalSignature,keyCertSign,cRLSign',
    '-addext',
    'subjectKeyIdentifier=hash',
    '-addext',
    'authorityKeyIdentifier=keyid',
  ]);
  // the five cluster CAs k3s is given (server, client, request-header, etcd peer, etcd server), signed by the root
  for (const ca of ['server', 'client', 'request-header', 'etcd-peer', 'etcd-server']) {
    await o([
      'openssl',
      'req',
      '-x509',
      ...ec,
      '-keyout',
      `cluster-${ca}-ca.key`,
      '-out',
      `cluster-${ca}-ca.pem`,
      '-subj',
      `/O=palisade bench/CN=palisade bench cluster ${ca} CA`,
      '-days',
      '3650',
      '-sha256',
      '-CA',
      'root.pem',
      '-CAkey',
      'root.key',
      '-addext',
      'basicConstraints=critical,CA:TRUE,pathlen:0',
      '-addext',
      'keyUsage=critical,digitalSignature,keyCertSign,cRLSign',
      '-addext',
      'subjectKeyIdentifier=hash',
      '-addext',
      'authorityKeyIdentifier=keyid',
    ]);
  }
  const f = input.fqdn;
  const jobs: Array<() => Promise<void>> = [];
  for (const h of input.hosts) {
    jobs.push(() =>
      leaf(`${h.name}-server`, h.name, 'serverAuth', [`DNS:${h.name}`, `DNS:${h.name}.${f}`, `IP:${h.address}`, 'DNS:localhost', 'IP:127.0.0.1']),
    );
    jobs.push(() => leaf(`${h.name}-client`, h.name, 'clientAuth', []));
  }
  jobs.push(() => leaf('registry', `registry.${f}`, 'serverAuth', [`DNS:registry.${f}`, `DNS:${f}`, 'DNS:host1', 'IP:10.231.0.11', 'IP:10.231.0.100']));
  jobs.push(() => leaf('ingress', f, 'serverAuth', [`DNS:${f}`, `DNS:*.${f}`, 'IP:10.231.0.100']));
  jobs.push(() =>
    leaf('api', f, 'serverAuth', [
      `DNS:${f}`,
      'IP:10.231.0.100',
      ...input.hosts.flatMap((h) => [`DNS:${h.name}`, `IP:${h.address}`]),
      'DNS:kubernetes',
      'DNS:kubernetes.default',
      'DNS:kubernetes.default.svc',
      'DNS:kubernetes.default.svc.cluster.local',
      'DNS:localhost',
      'IP:127.0.0.1',
      'IP:10.43.0.1',
    ]),
  );
  jobs.push(() => o(['sh', '-c', 'openssl rand -hex 32 > join-token']));
  jobs.push(() => o(['sh', '-c', 'openssl rand -base64 32 > at-rest.key']));
  jobs.push(() => o(['openssl', 'genpkey', '-algorithm', 'ed25519', '-out', 'jwt.key']));
  jobs.push(() => o(['sh', '-c', 'openssl rand -hex 16 > salt']));
  jobs.push(() => o(['sh', '-c', 'p=$(openssl rand -base64 24) && printf %s "$p" > registry.pass && printf %s "$p" | htpasswd -niB -C 5 palisade > htpasswd']));
  for (const j of jobs) await j();
  // stored encrypted, as palisade stores them in its keystore (PBKDF2-SHA256, 600000 iterations)
  lines.push(
    'tar -c *.key *.pem join-token at-rest.key salt registry.pass htpasswd | openssl enc -aes-256-cbc -pbkdf2 -iter 600000 -pass env:PALISADE_PASSPHRASE -out keys.enc',
  );
  const script = join(dir, 'keys.sh');
  writeFileSync(script, `set -e\ncd ${q(dir)}\n${lines.join('\n')}\n`);
  return { script, dir };
}

async function checkOpensslSet(dir: string): Promise<void> {
  for (const n of ['host1-server', 'host2-client', 'registry', 'ingress', 'api']) {
    await $({ cwd: dir, quiet: true })`openssl verify -CAfile root.pem -untrusted int.pem ${`${n}.pem`}`;
  }
  for (const ca of ['server', 'etcd-server']) await $({ cwd: dir, quiet: true })`openssl verify -CAfile root.pem ${`cluster-${ca}-ca.pem`}`;
}

const env = { PALISADE_PASSPHRASE: PASSPHRASE };
let checked = false;
const result = await compare(
  {
    title: 'key set of a 3-controller cluster, stored encrypted',
    kind: 'whole command vs whole command',
    palisade: {
      label: 'palisade keys generate',
      run: async () => {
        const dir = mkdtempSync(join(tmpdir(), 'bench-cmd-'));
        writeFileSync(
          join(dir, 'palisade.yaml'),
          `apiVersion: palisade/v1\ncluster: { name: bench, fqdn: ${input.fqdn}, vip: 10.231.0.100 }\nhosts:\n${input.hosts.map((h) => `  - { name: ${h.name}, address: ${h.address}, role: controller }`).join('\n')}\n`,
        );
        try {
          return await runCommand([process.execPath, PALISADE, 'keys', 'generate'], { cwd: dir, env });
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    },
    peer: {
      label: 'bash keys.sh (openssl req/genpkey/rand x 21, htpasswd -B, openssl enc -pbkdf2)',
      run: async () => {
        const s = await opensslScript();
        try {
          const r = await runCommand(['bash', s.script], { env });
          if (!checked) {
            await checkOpensslSet(s.dir);
            checked = true;
          }
          return r;
        } finally {
          rmSync(s.dir, { recursive: true, force: true });
        }
      },
    },
  },
  Number(values.rounds),
);
// the two key derivations are not the same cost: each timed alone (palisade's in this process,
// the script's as the same openssl command on no data), so the ratio can be read without them
const { scryptSync, randomBytes } = await import('node:crypto');
const t0 = performance.now();
scryptSync(PASSPHRASE, randomBytes(16), 64, { N: 2 ** 17, r: 8, p: 1, maxmem: 256 * 2 ** 17 * 8 + 32 * 2 ** 20 });
const scryptSeconds = (performance.now() - t0) / 1000;
const pbkdf2Seconds = (await runCommand('openssl enc -aes-256-cbc -pbkdf2 -iter 600000 -pass env:PALISADE_PASSPHRASE -in /dev/null -out /dev/null', { env }))
  .seconds;
await report(
  'Keys and PKI',
  [result],
  {
    'key derivation': `palisade derives its keystore key with scrypt N=2^17 r=8 p=1 (128 MiB): ${scryptSeconds.toFixed(3)} s alone in this process; the script with PBKDF2-SHA256, 600000 iterations: ${pbkdf2Seconds.toFixed(3)} s alone (the whole openssl enc command on no data)`,
    'ratio without the key derivations': ((result.palisadeSeconds - scryptSeconds) / (result.peerSeconds - pbkdf2Seconds)).toFixed(3),
  },
  values.json,
);
