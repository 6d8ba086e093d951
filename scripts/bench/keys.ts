/**
 * Key-set benchmark: the full key set of a 3-controller install (root and
 * intermediate CA, a server and a client certificate per host, registry,
 * ingress and API certificates, join token, secrets-at-rest key, Ed25519 JWT
 * key, password salt, registry password + bcrypt htpasswd line) made by
 * palisade (generateKeySet, in process) and by the openssl CLI (plus
 * `htpasswd -B` for the bcrypt line), in the same run. Median of N rounds,
 * order alternating.
 *
 *   node --import tsx scripts/bench/keys.ts [--rounds 5] [--command]
 *
 * --command also times the whole `palisade keys generate` command in a fresh
 * directory (process start-up, key set, scrypt, encrypted atomic write).
 */
import { execFile as execFileCb, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { generateKeySet, type KeySetInput } from '../../installer/pki/keyset.ts';

const execFile = promisify(execFileCb);
const args = process.argv.slice(2);
const rounds = Number(args[args.indexOf('--rounds') + 1] ?? 5) || 5;
const withCommand = args.includes('--command');

const input: KeySetInput = {
  cluster: 'bench',
  fqdn: 'palisade.bench.internal',
  vip: '10.231.0.100',
  hosts: [1, 2, 3].map((i) => ({ name: `host${i}`, address: `10.231.0.${10 + i}`, role: 'controller' as const })),
};

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function palisadeRound(): Promise<number> {
  const t0 = performance.now();
  const ks = await generateKeySet(input);
  const ms = performance.now() - t0;
  if (ks.entries.length !== 16) throw new Error(`expected 16 entries, got ${ks.entries.length}`);
  return ms;
}

/** The same set with the openssl CLI: one process per certificate (key made by `req -newkey`), CAs first. */
async function opensslRound(parallel: boolean): Promise<{ ms: number; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-openssl-'));
  writeFileSync(join(dir, 'min.cnf'), '[req]\ndistinguished_name = dn\n[dn]\n');
  const o = (a: string[], input?: string) =>
    new Promise<void>((res, rej) => {
      const c = spawn(a[0]!, a.slice(1), { cwd: dir, stdio: [input === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'] });
      let err = '';
      c.stderr?.on('data', (d) => (err += d));
      if (input !== undefined) c.stdin!.end(input);
      c.on('exit', (code) => (code === 0 ? res() : rej(new Error(`${a.join(' ')}: ${err}`))));
    });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-config', 'min.cnf'];
  const leaf = (name: string, cn: string, eku: string, san: string[]) =>
    o([
      'openssl', 'req', '-x509', ...ec, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-subj', `/O=palisade bench/CN=${cn}`, '-days', '365', '-sha256',
      '-CA', 'int.pem', '-CAkey', 'int.key',
      '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'keyUsage=critical,digitalSignature', '-addext', `extendedKeyUsage=${eku}`,
      ...(san.length ? ['-addext', `subjectAltName=${san.join(',')}`] : []),
      '-addext', 'subjectKeyIdentifier=hash', '-addext', 'authorityKeyIdentifier=keyid',
    ]);
  const t0 = performance.now();
  await o(['openssl', 'req', '-x509', ...ec, '-keyout', 'root.key', '-out', 'root.pem', '-subj', '/O=palisade bench/CN=palisade bench root CA', '-days', '3650', '-sha256',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,digitalSignature,keyCertSign,cRLSign', '-addext', 'subjectKeyIdentifier=hash']);
  await o(['openssl', 'req', '-x509', ...ec, '-keyout', 'int.key', '-out', 'int.pem', '-subj', '/O=palisade bench/CN=palisade bench intermediate CA', '-days', '1825', '-sha256',
    '-CA', 'root.pem', '-CAkey', 'root.key',
    '-addext', 'basicConstraints=critical,CA:TRUE,pathlen:0', '-addext', 'keyUsage=critical,digitalSignature,keyCertSign,cRLSign', '-addext', 'subjectKeyIdentifier=hash', '-addext', 'authorityKeyIdentifier=keyid']);
  const f = input.fqdn;
  const jobs: Array<() => Promise<void>> = [];
  for (const h of input.hosts) {
    jobs.push(() => leaf(`${h.name}-server`, h.name, 'serverAuth', [`DNS:${h.name}`, `DNS:${h.name}.${f}`, `IP:${h.address}`, 'DNS:localhost', 'IP:127.0.0.1']));
    jobs.push(() => leaf(`${h.name}-client`, h.name, 'clientAuth', []));
  }
  jobs.push(() => leaf('registry', `registry.${f}`, 'serverAuth', [`DNS:registry.${f}`, `DNS:${f}`, 'DNS:host1', 'IP:10.231.0.11', 'IP:10.231.0.100']));
  jobs.push(() => leaf('ingress', f, 'serverAuth', [`DNS:${f}`, `DNS:*.${f}`, 'IP:10.231.0.100']));
  jobs.push(() => leaf('api', f, 'serverAuth', [`DNS:${f}`, 'IP:10.231.0.100', ...input.hosts.flatMap((h) => [`DNS:${h.name}`, `IP:${h.address}`]), 'DNS:kubernetes', 'DNS:kubernetes.default', 'DNS:kubernetes.default.svc', 'DNS:kubernetes.default.svc.cluster.local', 'DNS:localhost', 'IP:127.0.0.1', 'IP:10.43.0.1']));
  jobs.push(() => o(['sh', '-c', 'openssl rand -hex 32 > join-token']));
  jobs.push(() => o(['sh', '-c', 'openssl rand -base64 32 > at-rest.key']));
  jobs.push(() => o(['openssl', 'genpkey', '-algorithm', 'ed25519', '-out', 'jwt.key']));
  jobs.push(() => o(['sh', '-c', 'openssl rand -hex 16 > salt']));
  jobs.push(() => o(['sh', '-c', 'p=$(openssl rand -base64 24) && printf %s "$p" > registry.pass && printf %s "$p" | htpasswd -niB -C 5 palisade > htpasswd']));
  if (parallel) await Promise.all(jobs.map((j) => j()));
  else for (const j of jobs) await j();
  return { ms: performance.now() - t0, dir };
}

function checkOpensslSet(dir: string): void {
  for (const n of ['host1-server', 'host2-client', 'registry', 'ingress', 'api']) {
    execFileSync('openssl', ['verify', '-CAfile', 'root.pem', '-untrusted', 'int.pem', `${n}.pem`], { cwd: dir, stdio: 'pipe' });
  }
}

async function commandRound(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-cmd-'));
  writeFileSync(join(dir, 'palisade.yaml'), `apiVersion: palisade/v1\ncluster: { name: bench, fqdn: ${input.fqdn}, vip: 10.231.0.100 }\nhosts:\n${input.hosts.map((h) => `  - { name: ${h.name}, address: ${h.address}, role: controller }`).join('\n')}\n`);
  const bin = resolve(import.meta.dirname, '../../installer/bin/palisade.js');
  const t0 = performance.now();
  await execFile(process.execPath, [bin, 'keys', 'generate'], { cwd: dir, env: { ...process.env, PALISADE_PASSPHRASE: 'benchmark passphrase' } });
  const ms = performance.now() - t0;
  rmSync(dir, { recursive: true, force: true });
  return ms;
}

const ours: number[] = [];
const seq: number[] = [];
const par: number[] = [];
const cmd: number[] = [];
const first = await palisadeRound(); // cold: first use of each code path in this process
for (let i = 0; i < rounds; i++) {
  const order = i % 2 === 0 ? ['palisade', 'openssl'] : ['openssl', 'palisade'];
  for (const who of order) {
    if (who === 'palisade') ours.push(await palisadeRound());
    else {
      const s = await opensslRound(false);
      if (i === 0) checkOpensslSet(s.dir);
      rmSync(s.dir, { recursive: true, force: true });
      seq.push(s.ms);
      const p = await opensslRound(true);
      rmSync(p.dir, { recursive: true, force: true });
      par.push(p.ms);
    }
  }
  if (withCommand) cmd.push(await commandRound());
}

const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`);
const m = median(ours);
console.log(`key set for 3 controllers (11 certificates, 11 P-256 keys, Ed25519 key, 4 random secrets, bcrypt htpasswd), median of ${rounds}`);
console.log(`palisade generateKeySet:          ${fmt(m)}  (rounds: ${ours.map(fmt).join(', ')}; first call in the process ${fmt(first)})`);
console.log(`openssl CLI, one after another:   ${fmt(median(seq))}  (rounds: ${seq.map(fmt).join(', ')})`);
console.log(`openssl CLI, leaves in parallel:  ${fmt(median(par))}  (rounds: ${par.map(fmt).join(', ')})`);
console.log(`ratio palisade/openssl sequential: ${(m / median(seq)).toFixed(3)}`);
console.log(`ratio palisade/openssl parallel:   ${(m / median(par)).toFixed(3)}`);
if (withCommand) console.log(`whole \`palisade keys generate\` (start-up + key set + scrypt N=2^17 + encrypted write): ${fmt(median(cmd))} (rounds: ${cmd.map(fmt).join(', ')})`);
