import type { ErrorDetail } from '../core/errors.ts';
import { BUILTIN_ROLES, SYSTEM_NAMESPACES, claimRegex, isRegexClaim, type AccessConfig } from './access.ts';

/**
 * What the `access:` schema cannot say: references between its parts, one owner per
 * namespace, no claim on the system namespaces, https issuers. Paths are palisade.yaml's.
 */

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  }
  return d[a.length]![b.length]!;
}

const nearest = (word: string, candidates: ReadonlyArray<string>): string | undefined =>
  candidates
    .map((c) => [c, editDistance(word, c)] as const)
    .filter(([, n]) => n <= Math.max(2, Math.floor(word.length / 4)))
    .sort((x, y) => x[1] - y[1])[0]?.[0];

const didYouMean = (word: string, candidates: ReadonlyArray<string>, otherwise: string): string => {
  const n = nearest(word, candidates);
  return n ? `did you mean "${n}"?` : otherwise;
};

function duplicates(names: ReadonlyArray<string>, path: (i: number) => string, what: string, out: ErrorDetail[]): void {
  const seen = new Map<string, number>();
  names.forEach((n, i) => {
    const prev = seen.get(n);
    if (prev !== undefined) out.push({ path: path(i), message: `${what} "${n}" is already defined at ${path(prev)}`, hint: `give every ${what} its own name` });
    else seen.set(n, i);
  });
}

export function accessProblems(access: AccessConfig): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  if (access.oidc && !access.oidc.issuerUrl.startsWith('https://')) {
    out.push({
      path: 'access.oidc.issuerUrl',
      message: `${access.oidc.issuerUrl} is not https`,
      hint: 'the API server only accepts an https issuer (ID tokens are verified with keys fetched from it): use https://…',
    });
  }
  duplicates(
    access.tenants.map((t) => t.name),
    (i) => `access.tenants[${i}].name`,
    'tenant',
    out,
  );
  duplicates(
    access.teams.map((t) => t.name),
    (i) => `access.teams[${i}].name`,
    'team',
    out,
  );
  for (const [ti, t] of access.tenants.entries())
    duplicates(
      t.projects.map((p) => p.name),
      (i) => `access.tenants[${ti}].projects[${i}].name`,
      'project',
      out,
    );

  // one owner per namespace: named claims against each other and against every /regex/
  const named = new Map<string, { path: string; owner: string }>();
  const regexes: Array<{ path: string; owner: string; re: RegExp }> = [];
  for (const [ti, t] of access.tenants.entries()) {
    for (const [pi, p] of t.projects.entries()) {
      for (const [ni, ns] of p.namespaces.entries()) {
        const path = `access.tenants[${ti}].projects[${pi}].namespaces[${ni}]`;
        const owner = `${t.name}/${p.name}`;
        if (isRegexClaim(ns)) {
          const re = claimRegex(ns);
          const system = SYSTEM_NAMESPACES.filter((s) => re.test(s));
          if (system.length)
            out.push({
              path,
              message: `${ns} matches the system namespace ${system.join(', ')}`,
              hint: 'anchor the expression so it cannot match system namespaces, e.g. /^acme-.*$/',
            });
          regexes.push({ path, owner, re });
          continue;
        }
        if ((SYSTEM_NAMESPACES as readonly string[]).includes(ns))
          out.push({ path, message: `${ns} is a system namespace`, hint: 'tenants own namespaces of their own; pick another name' });
        const prev = named.get(ns);
        if (prev && prev.owner !== owner)
          out.push({ path, message: `namespace ${ns} is already claimed by project ${prev.owner} (${prev.path})`, hint: 'a namespace belongs to one project' });
        else named.set(ns, { path, owner });
      }
    }
  }
  for (const [ns, claim] of named) {
    for (const r of regexes) {
      if (r.owner !== claim.owner && r.re.test(ns))
        out.push({
          path: r.path,
          message: `matches namespace ${ns}, which project ${claim.owner} claims by name (${claim.path})`,
          hint: 'a namespace belongs to one project: narrow the expression',
        });
    }
  }

  const teams = access.teams.map((t) => t.name);
  access.roleBindings.forEach((b, i) => {
    const path = `access.roleBindings[${i}]`;
    const whoCount = [b.team, b.user, b.group].filter((x) => x !== undefined).length;
    if (whoCount !== 1)
      out.push({
        path,
        message: whoCount ? 'names more than one of team, user and group' : 'names no team, user or group',
        hint: 'a binding gives one role to one team, user or group',
      });
    if (b.team !== undefined && !teams.includes(b.team))
      out.push({
        path: `${path}.team`,
        message: `no team "${b.team}" in access.teams`,
        hint: didYouMean(b.team, teams, 'add it to access.teams or fix the name'),
      });
    const [kind, tenantName, projectName] = b.scope.split('/');
    const tenant = access.tenants.find((t) => t.name === tenantName);
    if (!tenant)
      out.push({
        path: `${path}.scope`,
        message: `no tenant "${tenantName}" in access.tenants`,
        hint: didYouMean(
          tenantName ?? '',
          access.tenants.map((t) => t.name),
          'add the tenant or fix the scope',
        ),
      });
    else if (kind === 'project' && !tenant.projects.some((p) => p.name === projectName)) {
      out.push({
        path: `${path}.scope`,
        message: `tenant ${tenantName} has no project "${projectName}"`,
        hint: didYouMean(
          projectName ?? '',
          tenant.projects.map((p) => p.name),
          `add it to the projects of ${tenantName} or fix the scope`,
        ),
      });
    }
    const builtin = (BUILTIN_ROLES as readonly string[]).includes(b.role);
    if (!builtin && nearest(b.role, BUILTIN_ROLES))
      out.push({ path: `${path}.role`, message: `"${b.role}" is not a built-in role`, hint: didYouMean(b.role, BUILTIN_ROLES, '') });
    if (b.role === 'tenant-admin' && kind !== 'tenant')
      out.push({
        path: `${path}.role`,
        message: 'tenant-admin is bound at a project scope',
        hint: `use scope tenant/${tenantName}, or project-admin for one project`,
      });
  });
  return out;
}
