import { PalisadeError } from '../core/errors.ts';
import { redact } from '../core/log.ts';
import { sh } from '../core/quote.ts';
import type { RemoteHost } from '../hosts/types.ts';
import { imagesDir, K3S_PATHS, unitName } from './k3s-render.ts';
import type { ClusterArtifacts, ClusterSpec, NodeSpec } from './types.ts';

/**
 * The k3s side of a rolling upgrade, as k3s documents its manual upgrade:
 * cordon and drain with kubectl, replace the binary (and the air-gap images
 * tarball), restart the unit, uncordon. The binary and tarball that ran before
 * are kept in PREVIOUS_DIR so a rollback can put them back; every swap is a
 * rename, so a run killed halfway leaves either the old or the new file.
 */
export const PREVIOUS_DIR = '/var/lib/palisade/upgrade/previous';

type Kubectl = (api: RemoteHost, args: string[], o?: { timeoutMs?: number }) => Promise<{ code: number; stdout: string; stderr: string }>;

const lastLine = (s: string): string => s.trim().split('\n').filter(Boolean).pop()?.trim() ?? '';

export async function cordon(kubectl: Kubectl, api: RemoteHost, node: string, on: boolean): Promise<void> {
  const r = await kubectl(api, [on ? 'cordon' : 'uncordon', node]);
  if (r.code !== 0)
    throw new PalisadeError('cluster.cordon', `${node}: kubectl ${on ? 'cordon' : 'uncordon'} failed: ${redact.apply(lastLine(r.stderr) || `exit ${r.code}`)}`);
}

/** The pods kubectl names in a failed drain ("error when evicting pods/"web-0" -n "shop""). */
export function drainBlockers(stderr: string): string[] {
  const out = new Set<string>();
  for (const m of stderr.matchAll(/pods?\/"?([a-z0-9.-]+)"?\s+-n\s+"?([a-z0-9.-]+)"?/gi)) out.add(`${m[2]}/${m[1]}`);
  return [...out].sort();
}

export async function drain(kubectl: Kubectl, api: RemoteHost, node: string, o: { timeoutMs: number; force?: boolean }): Promise<void> {
  const secs = Math.max(1, Math.round(o.timeoutMs / 1000));
  // eviction honours Pod Disruption Budgets; --force-drain deletes instead (no PDB check)
  const args = ['drain', node, '--ignore-daemonsets', '--delete-emptydir-data', `--timeout=${secs}s`, ...(o.force ? ['--disable-eviction', '--force'] : [])];
  const r = await kubectl(api, args, { timeoutMs: o.timeoutMs + 60_000 });
  if (r.code === 0) return;
  const blockers = drainBlockers(r.stderr);
  if (blockers.length) {
    throw new PalisadeError(
      'cluster.drain-blocked',
      `${node}: the drain did not finish within ${secs} s: blocked by ${blockers.join(', ')} (their Pod Disruption Budget allows no eviction now)`,
      {
        hint: 'let the blocking workload move (scale it, or relax its PodDisruptionBudget), then run the upgrade again; --force-drain deletes the pods regardless of their budgets',
      },
    );
  }
  throw new PalisadeError('cluster.drain', `${node}: kubectl drain failed: ${redact.apply(lastLine(r.stderr) || `exit ${r.code}`)}`);
}

const swapScript = (target: string, want: string, keep: string) =>
  // keep what runs now (unless it already is the new file: a resumed run), then rename the new file in place
  sh`set -e; mkdir -p ${PREVIOUS_DIR}; cur=$(sha256sum < ${target} 2>/dev/null | cut -d' ' -f1 || true); if [ -n "$cur" ] && [ "$cur" != ${want} ]; then cp -p ${target} ${`${keep}.tmp`} && mv -f ${`${keep}.tmp`} ${keep}; fi; echo "$cur"`;

/**
 * Put the new binary and images tarball in place, keeping the previous ones.
 * Returns true when something was replaced (a restart is due).
 */
export async function swapBinary(host: RemoteHost, spec: ClusterSpec, art: ClusterArtifacts, sums: { binary: string; images?: string }): Promise<boolean> {
  let changed = false;
  const files: Array<{ local: string; target: string; sha: string; keep: string; mode: number }> = [
    { local: art.binary, target: K3S_PATHS.binary, sha: sums.binary, keep: `${PREVIOUS_DIR}/k3s`, mode: 0o755 },
  ];
  if (art.imagesTarball && sums.images) {
    const base = art.imagesTarball.replace(/^.*\//, '');
    files.push({ local: art.imagesTarball, target: `${imagesDir(spec)}/${base}`, sha: sums.images, keep: `${PREVIOUS_DIR}/${base}`, mode: 0o644 });
  }
  for (const f of files) {
    const r = await host.exec(swapScript(f.target, f.sha, f.keep), { sudo: true, check: true });
    if (r.stdout.trim() === f.sha) continue;
    await host.exec(sh`mkdir -p ${f.target.replace(/\/[^/]+$/, '')}`, { sudo: true, check: true });
    await host.upload(f.local, f.target, { mode: f.mode, sudo: true, owner: 'root:root' });
    changed = true;
  }
  return changed;
}

/** Put the kept binary back (rollback). Returns false when there is none to put back. */
export async function restoreBinary(host: RemoteHost): Promise<boolean> {
  const keep = `${PREVIOUS_DIR}/k3s`;
  const r = await host.exec(
    sh`test -f ${keep} && cp -p ${keep} ${`${K3S_PATHS.binary}.rollback.tmp`} && mv -f ${`${K3S_PATHS.binary}.rollback.tmp`} ${K3S_PATHS.binary} && echo restored || echo none`,
    { sudo: true, check: true },
  );
  return r.stdout.trim() === 'restored';
}

export async function restart(host: RemoteHost, node: NodeSpec): Promise<void> {
  await host.exec(sh`systemctl restart --no-block ${unitName(node.role)}`, { sudo: true, check: true });
}
