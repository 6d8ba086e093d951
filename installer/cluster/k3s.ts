import { setTimeout as sleep } from 'node:timers/promises';
import { PalisadeError } from '../core/errors.ts';
import { redact } from '../core/log.ts';
import { sh } from '../core/quote.ts';
import { contentSha256, filesToWrite, syncFiles, type DesiredFile } from '../hosts/files.ts';
import type { RemoteHost } from '../hosts/types.ts';
import {
  API_PORT,
  dataDirOf,
  imagesDir,
  K3S_PATHS,
  renderK3sConfig,
  renderK3sUnit,
  renderRegistries,
  rewriteKubeconfig,
  unitName,
  unitPath,
} from './k3s-render.ts';
import { clusterCaFiles, serverCaBundle, tlsDirOf } from './k3s-ca.ts';
import { clearDatastore, clusterResetRestore, listSnapshots, saveSnapshot, stopService } from './k3s-snapshot.ts';
import type { ClusterArtifacts, ClusterCa, ClusterDriver, ClusterSpec, KubeObject, NodeCheck, NodeSpec, SnapshotRef, WaitOptions } from './types.ts';
import * as upgrade from './k3s-upgrade.ts';

/**
 * k3s, installed as its documented air-gap install does it: the binary to
 * /usr/local/bin/k3s, the images tarball to <data-dir>/agent/images/,
 * /etc/rancher/k3s/config.yaml and registries.yaml, the systemd unit; then the
 * service is started and the node waited for. Check, act, verify: files are
 * uploaded only when their digest differs, the service restarts only when
 * something changed. Secrets (token, registry password) reach the host inside
 * files uploaded with mode 0600, never on a command line.
 */
const DEFAULT_TIMEOUT_MS = 180_000;

export class K3sDriver implements ClusterDriver {
  readonly name = 'k3s';

  async desiredFiles(node: NodeSpec, spec: ClusterSpec, art: ClusterArtifacts): Promise<DesiredFile[]> {
    const text = (path: string, s: string, mode: number): DesiredFile => ({ path, source: Buffer.from(s), mode });
    redact.add(spec.token);
    if (spec.registry) redact.add(spec.registry.password);
    const files: DesiredFile[] = [
      { path: K3S_PATHS.binary, source: art.binary, mode: 0o755, ...(art.binarySha256 ? { sha256: art.binarySha256 } : {}) },
      text(K3S_PATHS.config, renderK3sConfig(node, spec), 0o600),
      text(unitPath(node.role), renderK3sUnit(node.role), 0o644),
    ];
    const reg = renderRegistries(spec);
    if (reg && spec.registry) files.push(text(K3S_PATHS.registries, reg, 0o600), text(K3S_PATHS.registryCa, spec.registry.caPem, 0o644));
    if (spec.oidcCaPem && node.role !== 'agent') files.push(text(K3S_PATHS.oidcCa, spec.oidcCaPem, 0o644));
    // on every controller: the first one starts from them, a joining one gets the same from the datastore
    if (spec.clusterCa && node.role !== 'agent') files.push(...clusterCaFiles(dataDirOf(spec), spec.clusterCa));
    if (art.imagesTarball) {
      const base = art.imagesTarball.replace(/^.*\//, '');
      files.push({
        path: `${imagesDir(spec)}/${base}`,
        source: art.imagesTarball,
        mode: 0o644,
        ...(art.imagesTarballSha256 ? { sha256: art.imagesTarballSha256 } : {}),
      });
    }
    return files;
  }

  /**
   * inactive; stale: running, but one of its files is newer than its start (written by a run that
   * stopped before the restart); current.
   */
  private async serviceState(host: RemoteHost, node: NodeSpec, files: DesiredFile[]): Promise<'inactive' | 'stale' | 'current'> {
    const unit = unitName(node.role);
    const r = await host.exec(
      sh`systemctl is-active -q ${unit} || { echo inactive; exit 0; }; t=$(date -d "$(systemctl show ${unit} -p ActiveEnterTimestamp --value)" +%s 2>/dev/null || echo 0); for f in ${files.map((f) => f.path)}; do [ "$(stat -c %Y "$f" 2>/dev/null || echo 0)" -gt "$t" ] && { echo stale; exit 0; }; done; echo current`,
      { sudo: true },
    );
    const v = r.stdout.trim();
    return v === 'current' || v === 'stale' ? v : 'inactive';
  }

  async check(host: RemoteHost, node: NodeSpec, spec: ClusterSpec, art: ClusterArtifacts, api?: RemoteHost): Promise<NodeCheck> {
    const files = await this.desiredFiles(node, spec, art);
    const changed = (await filesToWrite(host, files)).map((f) => f.path);
    const state = await this.serviceState(host, node, files);
    if (state === 'stale') changed.push(`${unitName(node.role)} (running with older files)`);
    const active = state !== 'inactive';
    const ready =
      active && changed.length === 0
        ? await this.nodeReady(api ?? host, node).then(
            (x) => x.ready,
            () => false,
          )
        : false;
    return { changed, active, ready };
  }

  async install(host: RemoteHost, node: NodeSpec, spec: ClusterSpec, art: ClusterArtifacts): Promise<string[]> {
    // the service is started by bringUp (its "stale" check restarts it when a file is newer than its start)
    if (spec.clusterCa && node.role !== 'agent') {
      // k3s keeps its server directory to root alone; made so before the CA keys go in
      const dirs = [`${dataDirOf(spec)}/server`, tlsDirOf(dataDirOf(spec)), `${tlsDirOf(dataDirOf(spec))}/etcd`];
      await host.exec(sh`for d in ${dirs}; do [ -d "$d" ] || install -d -m 0700 "$d"; done`, { sudo: true, check: true });
    }
    return (await syncFiles(host, await this.desiredFiles(node, spec, art))).written;
  }

  async clusterCaInUse(first: RemoteHost, _node: NodeSpec, spec: ClusterSpec, ca: ClusterCa): Promise<'palisade' | 'own'> {
    // a first controller never ready is reset before it starts, so whatever CA it holds is not the cluster's yet
    const crt = `${tlsDirOf(dataDirOf(spec))}/server-ca.crt`;
    const r = await first.exec(sh`if [ -e ${K3S_PATHS.initialized} ] && [ -f ${crt} ]; then sha256sum < ${crt} | cut -d' ' -f1; fi`, {
      sudo: true,
      check: true,
    });
    const onHost = r.stdout.trim();
    return !onHost || onHost === (await contentSha256(Buffer.from(serverCaBundle(ca)))) ? 'palisade' : 'own';
  }

  /** install, then (re)start the service when something changed or it is not running, then wait for it */
  private async bringUp(host: RemoteHost, node: NodeSpec, spec: ClusterSpec, art: ClusterArtifacts, api: RemoteHost, o: WaitOptions): Promise<void> {
    await this.install(host, node, spec, art);
    const unit = unitName(node.role);
    const svc = await this.serviceState(host, node, await this.desiredFiles(node, spec, art));
    if (svc !== 'current') {
      o.onProgress?.(svc === 'stale' ? `restarting ${unit} (its files changed since it started)` : `starting ${unit}`);
      await host.exec(sh`systemctl enable ${unit} >/dev/null 2>&1; systemctl restart --no-block ${unit}`, { sudo: true, check: true });
    }
    await this.waitReady(host, node, api, o);
    await host.exec(sh`touch ${K3S_PATHS.initialized}`, { sudo: true, check: true });
  }

  async initFirstServer(host: RemoteHost, node: NodeSpec, spec: ClusterSpec, art: ClusterArtifacts, o: WaitOptions = {}): Promise<void> {
    // a first controller that never came up is reset, so the retry starts clean
    if (await this.reset(host, node, spec)) o.onProgress?.('reset a half-initialised first controller');
    await this.bringUp(host, node, spec, art, host, o);
  }

  async joinServer(host: RemoteHost, node: NodeSpec, spec: ClusterSpec, art: ClusterArtifacts, api: RemoteHost, o: WaitOptions = {}): Promise<void> {
    await this.bringUp(host, node, spec, art, api, o);
  }

  async joinAgent(host: RemoteHost, node: NodeSpec, spec: ClusterSpec, art: ClusterArtifacts, api: RemoteHost, o: WaitOptions = {}): Promise<void> {
    await this.bringUp(host, node, spec, art, api, o);
  }

  private async nodeReady(api: RemoteHost, node: NodeSpec): Promise<{ ready: boolean; why: string }> {
    const n = await this.get(api, 'node', node.name);
    if (!n) return { ready: false, why: `node ${node.name} has not registered with the cluster` };
    const c = n.status?.conditions?.find((x) => x.type === 'Ready');
    return c?.status === 'True' ? { ready: true, why: '' } : { ready: false, why: `node ${node.name} is not Ready (${c?.status ?? 'no condition'})` };
  }

  async waitReady(host: RemoteHost, node: NodeSpec, api: RemoteHost, o: WaitOptions = {}): Promise<void> {
    const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    const unit = unitName(node.role);
    let why = 'not checked yet';
    while (Date.now() < deadline) {
      o.signal?.throwIfAborted();
      const st = (await host.exec(sh`systemctl is-active ${unit}`, { sudo: true })).stdout.trim();
      if (st !== 'active') why = `${unit} is ${st || 'unknown'}`;
      else if (node.role !== 'agent') {
        const rz = await host.exec(sh`${K3S_PATHS.binary} kubectl get --raw /readyz`, { sudo: true });
        if (rz.code !== 0 || rz.stdout.trim() !== 'ok')
          why = `the API server on ${node.name} does not answer /readyz (${lastLine(rz.stderr || rz.stdout) || `exit ${rz.code}`})`;
        else {
          const r = await this.nodeReady(api, node).catch((e: unknown) => ({ ready: false, why: (e as Error).message }));
          if (r.ready) return;
          why = r.why;
        }
      } else {
        const r = await this.nodeReady(api, node).catch((e: unknown) => ({ ready: false, why: (e as Error).message }));
        if (r.ready) return;
        why = r.why;
      }
      o.onProgress?.(`waiting: ${why}`);
      await sleep(500, undefined, o.signal ? { signal: o.signal } : undefined);
    }
    const journal = await host.exec(sh`journalctl -u ${unit} -n 20 --no-pager -o cat 2>/dev/null`, { sudo: true });
    const lines = redact.apply(journal.stdout).trim().split('\n').filter(Boolean);
    throw new PalisadeError('cluster.not-ready', `${node.name}: ${unit} did not become ready within ${Math.round(timeoutMs / 1000)} s: ${why}`, {
      hint: `last lines of \`journalctl -u ${unit}\` on ${node.name}:\n${lines.map((l) => `    ${l}`).join('\n') || '    (no journal output)'}`,
    });
  }

  async reset(host: RemoteHost, node: NodeSpec, spec: ClusterSpec): Promise<boolean> {
    const dataDir = dataDirOf(spec);
    const unit = unitName(node.role);
    const r = await host.exec(
      // palisade's CA files alone (staged before the first start) do not make a node half-initialised: what k3s writes does
      sh`if [ -e ${K3S_PATHS.initialized} ]; then echo initialized; elif [ -e ${`${dataDir}/server/token`} ] || [ -d ${`${dataDir}/server/db`} ] || [ -d ${`${dataDir}/server/cred`} ] || [ -d ${`${dataDir}/agent`} ] || systemctl is-active -q ${unit}; then echo half; else echo clean; fi`,
      { sudo: true, check: true },
    );
    if (r.stdout.trim() !== 'half') return false;
    await host.exec(sh`systemctl stop ${unit} 2>/dev/null; rm -rf ${`${dataDir}/server`} ${`${dataDir}/agent/etc`} ${K3S_PATHS.kubeconfig}`, {
      sudo: true,
      check: true,
    });
    return true;
  }

  private async kubectl(api: RemoteHost, args: string[], stdin?: string, timeoutMs?: number): Promise<{ code: number; stdout: string; stderr: string }> {
    return api.exec(sh`${K3S_PATHS.binary} kubectl ${args}`, { sudo: true, ...(stdin !== undefined ? { stdin } : {}), ...(timeoutMs ? { timeoutMs } : {}) });
  }

  private readonly kubectlFn = (api: RemoteHost, args: string[], o: { timeoutMs?: number } = {}) => this.kubectl(api, args, undefined, o.timeoutMs);

  async readyz(host: RemoteHost): Promise<boolean> {
    const r = await host.exec(sh`${K3S_PATHS.binary} kubectl get --raw /readyz`, { sudo: true });
    return r.code === 0 && r.stdout.trim() === 'ok';
  }

  cordon(api: RemoteHost, node: string, on: boolean): Promise<void> {
    return upgrade.cordon(this.kubectlFn, api, node, on);
  }

  drain(api: RemoteHost, node: string, o: { timeoutMs: number; force?: boolean }): Promise<void> {
    return upgrade.drain(this.kubectlFn, api, node, o);
  }

  async swapBinary(host: RemoteHost, _node: NodeSpec, spec: ClusterSpec, art: ClusterArtifacts): Promise<boolean> {
    const sums = {
      binary: art.binarySha256 ?? (await contentSha256(art.binary)),
      ...(art.imagesTarball ? { images: art.imagesTarballSha256 ?? (await contentSha256(art.imagesTarball)) } : {}),
    };
    return upgrade.swapBinary(host, spec, art, sums);
  }

  restoreBinary(host: RemoteHost): Promise<boolean> {
    return upgrade.restoreBinary(host);
  }

  restart(host: RemoteHost, node: NodeSpec): Promise<void> {
    return upgrade.restart(host, node);
  }

  async waitReadyAt(host: RemoteHost, node: NodeSpec, api: RemoteHost, version: string, o: WaitOptions = {}): Promise<void> {
    const deadline = Date.now() + (o.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    let seen: string | undefined;
    // the unit may still report the old process for a moment after the restart
    while (Date.now() < deadline) {
      o.signal?.throwIfAborted();
      const n = await this.get(api, 'node', node.name).catch(() => undefined);
      seen = (n?.status as { nodeInfo?: { kubeletVersion?: string } } | undefined)?.nodeInfo?.kubeletVersion;
      if (seen === version) break;
      o.onProgress?.(`waiting: ${node.name} reports ${seen ?? 'no version yet'}, not ${version}`);
      await sleep(500, undefined, o.signal ? { signal: o.signal } : undefined);
    }
    if (seen !== version)
      throw new PalisadeError('cluster.version', `${node.name}: the node still reports ${seen ?? 'no version'} after the restart, not ${version}`, {
        hint: `check \`journalctl -u ${unitName(node.role)}\` on ${node.name}`,
      });
    await this.waitReady(host, node, api, { ...o, timeoutMs: Math.max(1000, deadline - Date.now()) });
  }

  async apply(api: RemoteHost, objects: ReadonlyArray<Record<string, unknown>>): Promise<string[]> {
    // JSON is YAML: kubectl takes a List; secrets travel on stdin
    const body = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects });
    const r = await this.kubectl(api, ['apply', '-f', '-'], body);
    if (r.code !== 0) throw new PalisadeError('cluster.apply', `${api.name}: kubectl apply failed: ${redact.apply(lastLine(r.stderr) || `exit ${r.code}`)}`);
    return r.stdout.trim().split('\n').filter(Boolean);
  }

  async get(api: RemoteHost, kind: string, name?: string, namespace?: string): Promise<KubeObject | undefined> {
    const args = ['get', kind, ...(name ? [name] : []), ...(namespace ? ['-n', namespace] : []), '-o', 'json', '--ignore-not-found'];
    const r = await this.kubectl(api, args);
    if (r.code !== 0)
      throw new PalisadeError(
        'cluster.get',
        `${api.name}: kubectl get ${kind}${name ? ` ${name}` : ''} failed: ${redact.apply(lastLine(r.stderr) || `exit ${r.code}`)}`,
      );
    const t = r.stdout.trim();
    return t ? (JSON.parse(t) as KubeObject) : undefined;
  }

  async list(api: RemoteHost, kind: string, o: { labelSelector?: string } = {}): Promise<KubeObject[]> {
    const r = await this.kubectl(api, ['get', kind, '--all-namespaces', ...(o.labelSelector ? ['-l', o.labelSelector] : []), '-o', 'json']);
    if (r.code !== 0)
      throw new PalisadeError('cluster.get', `${api.name}: kubectl get ${kind} failed: ${redact.apply(lastLine(r.stderr) || `exit ${r.code}`)}`);
    const t = r.stdout.trim();
    return t ? ((JSON.parse(t) as KubeObject).items ?? []) : [];
  }

  async delete(api: RemoteHost, kind: string, name: string, namespace?: string): Promise<boolean> {
    const r = await this.kubectl(api, ['delete', kind, name, ...(namespace ? ['-n', namespace] : []), '--ignore-not-found']);
    if (r.code !== 0) throw new PalisadeError('cluster.delete', `${api.name}: kubectl delete ${kind} ${name} failed: ${lastLine(r.stderr)}`);
    return r.stdout.includes('deleted');
  }

  snapshot(api: RemoteHost, name: string): Promise<SnapshotRef> {
    return saveSnapshot(api, name);
  }

  snapshots(host: RemoteHost): Promise<SnapshotRef[]> {
    return listSnapshots(host);
  }

  stopService(host: RemoteHost, node: NodeSpec): Promise<void> {
    return stopService(host, node);
  }

  async restoreSnapshot(host: RemoteHost, node: NodeSpec, spec: ClusterSpec, art: ClusterArtifacts, snapshotPath: string): Promise<void> {
    // the files first: on a rebuilt host the binary and config.yaml (with the original token) are not there yet
    await this.install(host, node, spec, art);
    await stopService(host, node);
    await clusterResetRestore(host, snapshotPath);
  }

  clearDatastore(host: RemoteHost, _node: NodeSpec, spec: ClusterSpec): Promise<boolean> {
    return clearDatastore(host, dataDirOf(spec));
  }

  async kubeconfig(api: RemoteHost, fqdn: string): Promise<string> {
    const r = await api.exec(sh`cat ${K3S_PATHS.kubeconfig}`, { sudo: true });
    if (r.code !== 0) throw new PalisadeError('cluster.kubeconfig', `${api.name}: cannot read ${K3S_PATHS.kubeconfig}: ${lastLine(r.stderr)}`);
    redact.add(r.stdout.match(/client-key-data:\s*(\S+)/)?.[1] ?? '');
    return rewriteKubeconfig(r.stdout, `https://${fqdn}:${API_PORT}`);
  }

  async version(host: RemoteHost): Promise<string | undefined> {
    const r = await host.exec(sh`${K3S_PATHS.binary} --version 2>/dev/null | head -1`, { sudo: true });
    return /k3s version (\S+)/.exec(r.stdout)?.[1];
  }
}

function lastLine(s: string): string {
  return s.trim().split('\n').filter(Boolean).pop()?.trim() ?? '';
}

export const k3sDriver = new K3sDriver();
