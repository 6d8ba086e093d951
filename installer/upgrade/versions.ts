import { PalisadeError } from '../core/errors.ts';

/**
 * Kubernetes distribution versions ("v1.30.2+k3s1") and the rules an upgrade
 * must keep, after the Kubernetes version-skew policy: no downgrades, one
 * minor at a time, API servers within one minor of each other, a kubelet
 * never newer than the oldest API server. Pure.
 */
export interface KubeVersion {
  major: number;
  minor: number;
  patch: number;
  /** the distribution's own revision (the 1 of +k3s1); 0 when absent */
  rev: number;
  text: string;
}

export function parseVersion(text: string): KubeVersion | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:\+[a-z][a-z0-9]*?(\d+))?$/i.exec(text.trim());
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), rev: Number(m[4] ?? 0), text: text.trim() };
}

export function compareVersions(a: KubeVersion, b: KubeVersion): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch || a.rev - b.rev;
}

export const minorOf = (v: KubeVersion): string => `${v.major}.${v.minor}`;

export interface NodeVersion {
  name: string;
  role: 'controller' | 'worker';
  /** what the host's binary reports (undefined: not readable) */
  version: string | undefined;
}

export interface VersionProblem {
  code: 'downgrade' | 'skip-minor' | 'major' | 'skew' | 'unknown';
  message: string;
  hint: string;
}

/** Why going from the nodes' versions to `target` is not allowed (empty: allowed). */
export function upgradeProblems(nodes: readonly NodeVersion[], targetText: string): VersionProblem[] {
  const target = parseVersion(targetText);
  if (!target)
    return [
      {
        code: 'unknown',
        message: `the bundle's cluster version "${targetText}" is not a version`,
        hint: 'use a bundle built from a release spec with a k3s version like v1.31.1+k3s1',
      },
    ];
  const out: VersionProblem[] = [];
  const parsed = nodes.map((n) => ({ ...n, v: n.version ? parseVersion(n.version) : undefined }));
  const unknown = parsed.filter((n) => !n.v);
  if (unknown.length)
    out.push({
      code: 'unknown',
      message: `cannot read the cluster version on ${unknown.map((n) => n.name).join(', ')}`,
      hint: 'check the host is up and k3s is installed (`palisade status`)',
    });
  const known = parsed.filter((n): n is typeof n & { v: KubeVersion } => !!n.v);
  const newer = known.filter((n) => compareVersions(n.v, target) > 0);
  if (newer.length) {
    out.push({
      code: 'downgrade',
      message: `${newer.map((n) => `${n.name} runs ${n.v.text}`).join(', ')}, newer than the bundle's ${target.text}: palisade does not downgrade`,
      hint: 'use a bundle at or above the running version; to go back after a failed upgrade use `palisade upgrade rollback`, or `palisade restore` with the pre-upgrade backup',
    });
  }
  for (const n of known) {
    if (n.v.major !== target.major) {
      out.push({
        code: 'major',
        message: `${n.name}: ${n.v.text} → ${target.text} changes the major version`,
        hint: 'a major version change is not an in-place upgrade',
      });
      return out;
    }
  }
  const oldest = known.reduce<KubeVersion | undefined>((o, n) => (!o || compareVersions(n.v, o) < 0 ? n.v : o), undefined);
  if (oldest && target.minor - oldest.minor > 1) {
    const via = Array.from({ length: target.minor - oldest.minor - 1 }, (_, i) => `${oldest.major}.${oldest.minor + i + 1}`);
    out.push({
      code: 'skip-minor',
      message: `${minorOf(oldest)} → ${minorOf(target)} skips Kubernetes minor version${via.length > 1 ? 's' : ''} ${via.join(', ')}`,
      hint: `upgrade through ${via.join(', then ')} first (a bundle of each), one minor at a time`,
    });
  }
  out.push(...skewProblems(nodes));
  return out;
}

/** The skew rules on the running cluster: API servers within one minor, no kubelet newer than the oldest API server. */
export function skewProblems(nodes: readonly NodeVersion[]): VersionProblem[] {
  const out: VersionProblem[] = [];
  const v = (n: NodeVersion) => (n.version ? parseVersion(n.version) : undefined);
  const servers = nodes.filter((n) => n.role === 'controller' && v(n));
  if (!servers.length) return out;
  const minors = servers.map((n) => v(n)!.minor);
  if (Math.max(...minors) - Math.min(...minors) > 1) {
    out.push({
      code: 'skew',
      message: `the controllers are more than one minor apart (${servers.map((n) => `${n.name} ${n.version}`).join(', ')})`,
      hint: 'bring every controller to the same minor first (re-run the interrupted upgrade, or roll it back)',
    });
  }
  const oldestServer = servers.map((n) => v(n)!).sort(compareVersions)[0]!;
  const ahead = nodes.filter(
    (n) => n.role === 'worker' && v(n) && (v(n)!.major > oldestServer.major || (v(n)!.major === oldestServer.major && v(n)!.minor > oldestServer.minor)),
  );
  if (ahead.length) {
    out.push({
      code: 'skew',
      message: `${ahead.map((n) => `${n.name} (${n.version})`).join(', ')} run a kubelet newer than the oldest API server (${oldestServer.text})`,
      hint: 'upgrade the controllers first; workers follow them',
    });
  }
  return out;
}

export function versionError(problems: VersionProblem[]): PalisadeError {
  const [first] = problems;
  return new PalisadeError(`upgrade.${first!.code}`, problems.length === 1 ? first!.message : `the upgrade is not allowed: ${problems.length} problems`, {
    hint: first!.hint,
    ...(problems.length > 1 ? { details: problems.map((p) => ({ message: p.message, hint: p.hint })) } : {}),
  });
}
