import { planHost } from '../hardening/evaluate.ts';
import type { HardeningException, HostState, Rule } from '../hardening/types.ts';
import { CLUSTER, type Finding } from './types.ts';

/**
 * Compliance: the hardening rules as checks on every host, and the cluster
 * settings the CIS Kubernetes benchmark cares about, read from each
 * controller's k3s configuration (secrets encryption, anonymous auth, RBAC)
 * and from the API server certificate (its lifetime). Pure.
 */
export function ruleFindings(s: HostState, rules: readonly Rule[], exceptions: readonly HardeningException[]): Finding[] {
  return planHost(s, rules, exceptions).evaluations.map(({ rule, result, exception }) => ({
    check: rule.id,
    host: s.host,
    title: `${rule.title}${rule.cis ? ` (CIS ${rule.cis})` : ''}`,
    status: exception ? 'excepted' : result.status,
    detail: exception ? `${result.detail}; excepted: ${exception.reason}` : result.detail,
  }));
}

/** `kube-apiserver-arg` values of a k3s config.yaml, as flag=value */
function apiserverArgs(config: string): string[] {
  const out: string[] = [];
  const m = /^kube-apiserver-arg:\s*\n((?:\s+-.*\n?)*)/m.exec(config);
  for (const l of (m?.[1] ?? '').split('\n')) {
    const v = /^\s+-\s*["']?(.*?)["']?\s*$/.exec(l)?.[1];
    if (v) out.push(v.replace(/^--/, ''));
  }
  return out;
}

export function clusterConfigFindings(host: string, config: string | undefined): Finding[] {
  if (config === undefined)
    return [{ check: 'k8s.config', host, status: 'fail', detail: 'no /etc/rancher/k3s/config.yaml: the cluster is not installed here' }];
  const args = apiserverArgs(config);
  const arg = (k: string) => args.find((a) => a.startsWith(`${k}=`))?.slice(k.length + 1);
  const enc = /^secrets-encryption:\s*(true|"true")\s*$/m.test(config);
  const anon = arg('anonymous-auth');
  const authz = arg('authorization-mode');
  return [
    {
      check: 'k8s.secrets-encryption',
      host,
      title: 'Secrets encrypted at rest (CIS Kubernetes 1.2.27)',
      status: enc ? 'pass' : 'fail',
      detail: enc ? 'secrets-encryption: true' : 'secrets-encryption is not on',
    },
    // k3s turns anonymous auth off unless an argument turns it back on
    {
      check: 'k8s.anonymous-auth',
      host,
      title: 'anonymous requests to the API refused (CIS Kubernetes 1.2.1)',
      status: anon === 'true' ? 'fail' : 'pass',
      detail: anon ? `anonymous-auth=${anon}` : 'off (the k3s default, not overridden)',
    },
    {
      check: 'k8s.rbac',
      host,
      title: 'RBAC authorization on (CIS Kubernetes 1.2.8)',
      status: authz && !authz.split(',').includes('RBAC') ? 'fail' : 'pass',
      detail: authz ? `authorization-mode=${authz}` : 'Node,RBAC (the k3s default, not overridden)',
    },
  ];
}

/** The API server certificate: valid now, not expiring within 30 days, and a leaf lifetime of at most 398 days. */
export function certificateFindings(host: string, cert: { notBefore: string; notAfter: string } | undefined, now: number): Finding[] {
  if (!cert) return [{ check: 'k8s.api-certificate', host, status: 'fail', detail: 'the API server certificate could not be read' }];
  const nb = Date.parse(cert.notBefore);
  const na = Date.parse(cert.notAfter);
  const lifeDays = Math.round((na - nb) / 86_400_000);
  const leftDays = Math.floor((na - now) / 86_400_000);
  const bad =
    now < nb
      ? 'not yet valid'
      : now >= na
        ? 'expired'
        : leftDays < 30
          ? `expires in ${leftDays} days`
          : lifeDays > 398
            ? `lifetime ${lifeDays} days (more than 398)`
            : undefined;
  return [
    {
      check: 'k8s.api-certificate',
      host,
      title: 'API server certificate valid, renewed in time, lifetime at most 398 days',
      status: bad ? 'fail' : 'pass',
      detail: `${bad ?? 'valid'}: ${cert.notBefore} to ${cert.notAfter} (${lifeDays} days, ${leftDays} left)`,
    },
  ];
}

export { CLUSTER };
