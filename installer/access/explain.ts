import { authorize, grantsFor, type PolicyRule, type Request, type Subject, type UserInfo } from './rbac.ts';
import { prefixesOf, type RenderedAccess } from './render.ts';
import type { AccessConfig } from './schema.ts';

/**
 * `access explain` and `access who-can`: questions answered from the rendered RBAC by the
 * same evaluator the authorizer's rules follow. Users and groups are given as the identity
 * provider sends them; the configured OIDC prefixes are applied as the API server applies them.
 */

export interface ExplainedBinding {
  name: string;
  namespace: string;
  role: string;
  /** why it applies: the subject that names the user, and the team it came from */
  via: string[];
  /** palisade.yaml's binding, in words */
  from?: string;
}

export interface Explanation {
  user: string;
  groups: string[];
  teams: string[];
  bindings: ExplainedBinding[];
  /** the union of what the bindings allow, per namespace; verbs merged per resource */
  permissions: Array<{ namespace: string; apiGroups: string[]; resources: string[]; verbs: string[] }>;
}

export function userInfo(access: AccessConfig, user: string, groups: ReadonlyArray<string>): UserInfo {
  const p = prefixesOf(access);
  return { user: `${p.usernamePrefix}${user}`, groups: groups.map((g) => `${p.groupsPrefix}${g}`) };
}

function teamsOf(access: AccessConfig, user: string, groups: ReadonlyArray<string>): string[] {
  return access.teams.filter((t) => t.users.includes(user) || t.oidcGroups.some((g) => groups.includes(g))).map((t) => t.name);
}

function subjectTeams(access: AccessConfig, s: Subject): string[] {
  const p = prefixesOf(access);
  if (s.kind === 'Group') return access.teams.filter((t) => t.oidcGroups.some((g) => `${p.groupsPrefix}${g}` === s.name)).map((t) => t.name);
  if (s.kind === 'User') return access.teams.filter((t) => t.users.some((u) => `${p.usernamePrefix}${u}` === s.name)).map((t) => t.name);
  return [];
}

const describeSubject = (access: AccessConfig, s: Subject): string => {
  const teams = subjectTeams(access, s);
  return `${s.kind.toLowerCase()} ${s.name}${teams.length ? ` (team ${teams.join(', ')})` : ''}`;
};

/** Merge rules into one row per (namespace, API group, resource), verbs unioned, then rows with equal verbs together. */
function unionOf(rows: Array<{ namespace: string; rule: PolicyRule }>): Explanation['permissions'] {
  const cell = new Map<string, Set<string>>();
  for (const { namespace, rule } of rows) {
    for (const g of rule.apiGroups ?? ['']) {
      for (const r of rule.resources ?? []) {
        const names = rule.resourceNames?.length ? `:${[...rule.resourceNames].sort().join(',')}` : '';
        const key = JSON.stringify([namespace, g, r + names]);
        const verbs = cell.get(key) ?? new Set<string>();
        for (const v of rule.verbs) verbs.add(v);
        cell.set(key, verbs);
      }
    }
  }
  const grouped = new Map<string, { namespace: string; apiGroups: Set<string>; resources: Set<string>; verbs: string[] }>();
  for (const [key, verbs] of cell) {
    const [namespace, g, r] = JSON.parse(key) as [string, string, string];
    const v = verbs.has('*') ? ['*'] : [...verbs].sort();
    const gk = JSON.stringify([namespace, g, v]);
    const row = grouped.get(gk) ?? { namespace, apiGroups: new Set([g]), resources: new Set<string>(), verbs: v };
    row.resources.add(r);
    grouped.set(gk, row);
  }
  return [...grouped.values()]
    .map((r) => ({ namespace: r.namespace, apiGroups: [...r.apiGroups], resources: [...r.resources].sort(), verbs: r.verbs }))
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.apiGroups[0]!.localeCompare(b.apiGroups[0]!) || a.resources[0]!.localeCompare(b.resources[0]!));
}

export function explain(access: AccessConfig, rendered: RenderedAccess, o: { user: string; groups?: string[]; namespace?: string }): Explanation {
  const groups = o.groups ?? [];
  const who = userInfo(access, o.user, groups);
  const grants = grantsFor(who, rendered.rbac).filter((g) => o.namespace === undefined || g.namespace === undefined || g.namespace === o.namespace);
  return {
    user: who.user,
    groups: who.groups,
    teams: teamsOf(access, o.user, groups),
    bindings: grants.map((g) => ({
      name: g.binding.metadata.name,
      namespace: g.namespace ?? '*',
      role: g.binding.roleRef.name,
      via: g.matched.map((s) => describeSubject(access, s)),
      ...(g.binding.metadata.annotations?.['palisade.io/binding'] ? { from: g.binding.metadata.annotations['palisade.io/binding'] } : {}),
    })),
    permissions: unionOf(grants.flatMap((g) => g.rules.map((rule) => ({ namespace: g.namespace ?? '*', rule })))),
  };
}

/** kubectl's resource notation: `pods`, `pods/log`, `deployments.apps`, `deployments.apps/scale`. */
export function parseResource(arg: string): { resource: string; apiGroup: string; subresource?: string } {
  const [main, subresource] = arg.split('/', 2) as [string, string | undefined];
  const dot = main.indexOf('.');
  const resource = dot < 0 ? main : main.slice(0, dot);
  const apiGroup = dot < 0 ? '' : main.slice(dot + 1);
  return { resource, apiGroup, ...(subresource ? { subresource } : {}) };
}

export interface WhoCan {
  verb: string;
  resource: string;
  subjects: Array<{ kind: string; name: string; teams: string[]; namespaces: string[]; bindings: string[] }>;
}

export function whoCan(access: AccessConfig, rendered: RenderedAccess, o: { verb: string; resource: string; name?: string; namespace?: string }): WhoCan {
  const res = parseResource(o.resource);
  const namespaces = o.namespace !== undefined ? [o.namespace] : rendered.namespaces.map((n) => n.name);
  const subjects = new Map<string, Subject>();
  for (const b of rendered.rbac.bindings) for (const s of b.subjects ?? []) subjects.set(`${s.kind}\0${s.name}`, s);
  const out: WhoCan['subjects'] = [];
  for (const s of subjects.values()) {
    const who: UserInfo =
      s.kind === 'Group' ? { user: '', groups: [s.name] } : { user: s.kind === 'User' ? s.name : `system:serviceaccount:${s.namespace}:${s.name}`, groups: [] };
    const hits: string[] = [];
    const bindings = new Set<string>();
    for (const namespace of namespaces) {
      const req: Request = { verb: o.verb, ...res, namespace, ...(o.name ? { name: o.name } : {}) };
      const r = authorize(who, req, rendered.rbac);
      if (r.allowed) {
        hits.push(namespace);
        bindings.add(`${r.by!.namespace ?? '*'}/${r.by!.binding.metadata.name}`);
      }
    }
    if (hits.length) out.push({ kind: s.kind, name: s.name, teams: subjectTeams(access, s), namespaces: hits, bindings: [...bindings] });
  }
  out.sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
  return { verb: o.verb, resource: o.resource, subjects: out };
}
