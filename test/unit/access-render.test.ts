import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { explain, whoCan } from '../../installer/access/explain.ts';
import { oidcApiServerArgs } from '../../installer/access/oidc.ts';
import { authorize, effectiveRules } from '../../installer/access/rbac.ts';
import { renderAccess } from '../../installer/access/render.ts';
import { accessSchema, type AccessConfig } from '../../installer/access/schema.ts';
import { accessProblems } from '../../installer/config/access-semantic.ts';

const access: AccessConfig = accessSchema.parse({
  oidc: { issuerUrl: 'https://idp.example.internal/realms/ops', clientId: 'palisade', usernamePrefix: 'oidc:', groupsPrefix: 'oidc:' },
  tenants: [
    {
      name: 'acme',
      projects: [
        { name: 'web', namespaces: ['acme-web', '/acme-web-.*/'], quota: { cpu: '8', memory: '16Gi', pods: 50 } },
        { name: 'data', namespaces: ['acme-data'] },
      ],
    },
    { name: 'globex', projects: [{ name: 'shop', namespaces: ['globex-shop', '/globex-pr-[0-9]+/'] }] },
  ],
  teams: [
    { name: 'acme-devs', oidcGroups: ['acme-engineering'], users: ['carol'] },
    { name: 'acme-ops', oidcGroups: ['acme-sre'] },
    { name: 'globex-devs', oidcGroups: ['globex-eng'] },
  ],
  roleBindings: [
    { team: 'acme-devs', role: 'project-editor', scope: 'project/acme/web' },
    { team: 'acme-devs', role: 'project-viewer', scope: 'project/acme/data' },
    { team: 'acme-ops', role: 'tenant-admin', scope: 'tenant/acme' },
    { team: 'globex-devs', role: 'project-admin', scope: 'project/globex/shop' },
    { user: 'auditor', role: 'project-viewer', scope: 'tenant/globex' },
  ],
});
const live = ['acme-web-staging', 'acme-web-pr-7', 'globex-pr-12', 'globex-pr-x', 'kube-system', 'unrelated'];

describe('access rendering', () => {
  const r = renderAccess(access, live);

  it('claims named namespaces and the live namespaces a /regex/ matches in full', () => {
    expect(r.namespaces.map((n) => `${n.name}=${n.tenant}/${n.project}`)).toEqual([
      'acme-data=acme/data',
      'acme-web=acme/web',
      'acme-web-pr-7=acme/web',
      'acme-web-staging=acme/web',
      'globex-pr-12=globex/shop',
      'globex-shop=globex/shop',
    ]);
    const ns = r.objects.find((o) => o.kind === 'Namespace' && o.metadata.name === 'acme-web-pr-7')!;
    expect(ns.metadata.labels).toMatchObject({ 'palisade.io/tenant': 'acme', 'palisade.io/project': 'web', 'palisade.io/owner': 'access' });
  });

  it('every object carries the ownership label (what apply prunes by)', () => {
    for (const o of r.objects) expect(o.metadata.labels?.['palisade.io/owner'], `${o.kind}/${o.metadata.name}`).toBe('access');
  });

  it("a quota becomes a ResourceQuota and a LimitRange in each of the project's namespaces, and only there", () => {
    const quotas = r.objects.filter((o) => o.kind === 'ResourceQuota').map((o) => o.metadata.namespace);
    expect(quotas.sort()).toEqual(['acme-web', 'acme-web-pr-7', 'acme-web-staging']);
    const q = r.objects.find((o) => o.kind === 'ResourceQuota')!;
    expect((q.spec as { hard: Record<string, string> }).hard).toEqual({
      'requests.cpu': '8',
      'limits.cpu': '8',
      'requests.memory': '16Gi',
      'limits.memory': '16Gi',
      pods: '50',
    });
    expect(r.objects.filter((o) => o.kind === 'LimitRange')).toHaveLength(3);
  });

  it('team subjects are the OIDC groups and users with the configured prefixes', () => {
    const b = r.rbac.bindings.find((x) => x.metadata.namespace === 'acme-web' && x.roleRef.name === 'palisade:project-editor')!;
    expect(b.subjects).toEqual([
      { kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'oidc:acme-engineering' },
      { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'oidc:carol' },
    ]);
  });

  it("a tenant scope covers every namespace of the tenant's projects", () => {
    const admin = r.rbac.bindings
      .filter((x) => x.roleRef.name === 'palisade:tenant-admin')
      .map((x) => x.metadata.namespace)
      .sort();
    expect(admin).toEqual(['acme-data', 'acme-web', 'acme-web-pr-7', 'acme-web-staging']);
  });

  it("isolation: no subject bound in tenant A may do anything in tenant B's namespaces (every verb and resource of the rendered roles)", () => {
    const tenantOf = new Map(r.namespaces.map((n) => [n.name, n.tenant]));
    const rules = r.rbac.clusterRoles.flatMap((cr) => effectiveRules(cr, r.rbac.clusterRoles));
    const verbs = [...new Set(rules.flatMap((x) => x.verbs))];
    const resources = [...new Set(rules.flatMap((x) => (x.apiGroups ?? ['']).flatMap((g) => (x.resources ?? []).map((res) => `${g}|${res}`))))];
    expect(verbs.length).toBeGreaterThan(5);
    expect(resources.length).toBeGreaterThan(20);
    let checked = 0;
    for (const b of r.rbac.bindings) {
      const home = tenantOf.get(b.metadata.namespace!)!;
      for (const s of b.subjects ?? []) {
        const who = s.kind === 'Group' ? { user: 'someone', groups: [s.name] } : { user: s.name, groups: [] };
        for (const ns of r.namespaces.filter((n) => n.tenant !== home)) {
          for (const v of verbs) {
            for (const gr of resources) {
              const [apiGroup, res] = gr.split('|') as [string, string];
              const [resource, subresource] = res.split('/') as [string, string | undefined];
              const got = authorize(who, { verb: v, apiGroup, resource, ...(subresource ? { subresource } : {}), namespace: ns.name }, r.rbac);
              expect(got.allowed, `${s.name} ${v} ${res} in ${ns.name}`).toBe(false);
              checked++;
            }
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it('the union of two roles is what a subject may do: carol edits in acme-web and only views in acme-data', () => {
    const e = explain(access, r, { user: 'carol' });
    expect(e.teams).toEqual(['acme-devs']);
    const who = { user: 'oidc:carol', groups: [] };
    expect(authorize(who, { verb: 'create', apiGroup: 'apps', resource: 'deployments', namespace: 'acme-web' }, r.rbac).allowed).toBe(true);
    expect(authorize(who, { verb: 'create', apiGroup: 'apps', resource: 'deployments', namespace: 'acme-data' }, r.rbac).allowed).toBe(false);
    expect(authorize(who, { verb: 'list', apiGroup: 'apps', resource: 'deployments', namespace: 'acme-data' }, r.rbac).allowed).toBe(true);
    // a member of both teams holds both teams' roles
    const both = explain(access, r, { user: 'dan', groups: ['acme-engineering', 'acme-sre'] });
    expect(both.teams.sort()).toEqual(['acme-devs', 'acme-ops']);
    const rows = both.permissions.filter((p) => p.namespace === 'acme-data' && p.resources.includes('roles'));
    expect(rows.length).toBeGreaterThan(0); // tenant-admin's rules reach acme-data through acme-ops
    expect(both.bindings.some((b) => b.via.some((v) => v.includes('team acme-ops')))).toBe(true);
  });

  it('viewers cannot read Secrets; editors can', () => {
    expect(authorize({ user: 'oidc:auditor', groups: [] }, { verb: 'get', apiGroup: '', resource: 'secrets', namespace: 'globex-shop' }, r.rbac).allowed).toBe(
      false,
    );
    expect(authorize({ user: 'oidc:auditor', groups: [] }, { verb: 'get', apiGroup: '', resource: 'pods', namespace: 'globex-shop' }, r.rbac).allowed).toBe(
      true,
    );
  });

  it('who-can lists the subjects and their teams', () => {
    const w = whoCan(access, r, { verb: 'delete', resource: 'secrets', namespace: 'globex-shop' });
    expect(w.subjects.map((s) => `${s.kind}:${s.name}:${s.teams.join(',')}`)).toEqual(['Group:oidc:globex-eng:globex-devs']);
    const all = whoCan(access, r, { verb: 'get', resource: 'deployments.apps/scale' });
    expect(all.subjects.map((s) => s.name).sort()).toEqual(['oidc:acme-engineering', 'oidc:acme-sre', 'oidc:carol', 'oidc:globex-eng']);
  });

  it('binding names stay the same when the list is reordered, and change with the binding', () => {
    const again = renderAccess({ ...access, roleBindings: [...access.roleBindings].reverse() }, live);
    const names = (x: typeof r) => x.rbac.bindings.map((b) => `${b.metadata.namespace}/${b.metadata.name}`).sort();
    expect(names(again)).toEqual(names(r));
  });

  it("changing a team's groups changes exactly the bindings of that team", () => {
    const changed = renderAccess({ ...access, teams: access.teams.map((t) => (t.name === 'acme-ops' ? { ...t, oidcGroups: ['acme-oncall'] } : t)) }, live);
    const key = (b: (typeof r.rbac.bindings)[number]) => `${b.metadata.namespace}/${b.metadata.name}`;
    const before = new Map(r.rbac.bindings.map((b) => [key(b), JSON.stringify(b.subjects)]));
    const diff = changed.rbac.bindings.filter((b) => before.get(key(b)) !== JSON.stringify(b.subjects)).map(key);
    expect(diff).toHaveLength(4);
    expect(diff.every((k) => changed.rbac.bindings.find((b) => key(b) === k)!.roleRef.name === 'palisade:tenant-admin')).toBe(true);
  });

  it('two /regex/ claims matching one live namespace are refused, naming both projects', () => {
    const clash = accessSchema.parse({
      ...access,
      tenants: [...access.tenants, { name: 'initech', projects: [{ name: 'x', namespaces: ['/acme-web-pr-.*/'] }] }],
    });
    expect(() => renderAccess(clash, live)).toThrow(/acme-web-pr-7 is claimed by project acme\/web and by initech\/x/);
  });

  it('every rendered object validates against the Kubernetes API schemas', () => {
    const require = createRequire(import.meta.url);
    const models: Record<string, string> = {
      Namespace: 'kubernetes-models/v1/Namespace',
      ResourceQuota: 'kubernetes-models/v1/ResourceQuota',
      LimitRange: 'kubernetes-models/v1/LimitRange',
      NetworkPolicy: 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy',
      ClusterRole: 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole',
      RoleBinding: 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding',
    };
    for (const o of r.objects) {
      const Model = require(models[o.kind]!)[o.kind] as new (x: unknown) => { validate(): void };
      expect(() => new Model(o).validate(), `${o.kind}/${o.metadata.name}`).not.toThrow();
    }
    // the schemas do catch a mistake
    const Model = require(models.RoleBinding!).RoleBinding as new (x: unknown) => { validate(): void };
    expect(() => new Model({ ...r.rbac.bindings[0], roleRef: { kind: 'ClusterRole' } }).validate()).toThrow();
  });
});

describe('OIDC', () => {
  it('is rendered into kube-apiserver arguments with prefixes, CA and required claims', () => {
    const o = accessSchema.parse({ oidc: { issuerUrl: 'https://idp.x/r', clientId: 'c', usernamePrefix: '', requiredClaims: { hd: 'example.com' } } }).oidc!;
    expect(oidcApiServerArgs(o, true)).toEqual([
      'oidc-issuer-url=https://idp.x/r',
      'oidc-client-id=c',
      'oidc-username-claim=sub',
      'oidc-groups-claim=groups',
      'oidc-username-prefix=-',
      'oidc-groups-prefix=oidc:',
      'oidc-ca-file=/etc/rancher/k3s/palisade-oidc-ca.crt',
      'oidc-required-claim=hd=example.com',
    ]);
    expect(oidcApiServerArgs(undefined, false)).toEqual([]);
  });
});

describe('access validation', () => {
  const problems = (a: unknown) => accessProblems(accessSchema.parse(a)).map((p) => `${p.path}: ${p.message}${p.hint ? ` (${p.hint})` : ''}`);
  const base = { tenants: [{ name: 'acme', projects: [{ name: 'web', namespaces: ['acme-web'] }] }], teams: [{ name: 'devs', oidcGroups: ['eng'] }] };

  it('the example config is valid', () => expect(accessProblems(access)).toEqual([]));
  it('a binding to an unknown team, with the nearest name', () => {
    expect(problems({ ...base, roleBindings: [{ team: 'dev', role: 'project-viewer', scope: 'project/acme/web' }] })).toEqual([
      'access.roleBindings[0].team: no team "dev" in access.teams (did you mean "devs"?)',
    ]);
  });
  it('an unknown scope', () => {
    expect(problems({ ...base, roleBindings: [{ team: 'devs', role: 'project-viewer', scope: 'project/acme/wep' }] })[0]).toMatch(
      /scope: tenant acme has no project "wep" \(did you mean "web"\?\)/,
    );
    expect(problems({ ...base, roleBindings: [{ team: 'devs', role: 'project-viewer', scope: 'tenant/nope' }] })[0]).toMatch(/scope: no tenant "nope"/);
  });
  it('a misspelt built-in role; any other name is an operator ClusterRole', () => {
    expect(problems({ ...base, roleBindings: [{ team: 'devs', role: 'project-editr', scope: 'project/acme/web' }] })).toEqual([
      'access.roleBindings[0].role: "project-editr" is not a built-in role (did you mean "project-editor"?)',
    ]);
    expect(problems({ ...base, roleBindings: [{ team: 'devs', role: 'view', scope: 'project/acme/web' }] })).toEqual([]);
  });
  it('two projects claiming the same namespace, by name or by a /regex/', () => {
    const two = {
      tenants: [
        {
          name: 'a',
          projects: [
            { name: 'p', namespaces: ['shared'] },
            { name: 'q', namespaces: ['shared'] },
          ],
        },
      ],
    };
    expect(problems(two)[0]).toMatch(/projects\[1\]\.namespaces\[0\]: namespace shared is already claimed by project a\/p/);
    const re = {
      tenants: [
        { name: 'a', projects: [{ name: 'p', namespaces: ['web-1'] }] },
        { name: 'b', projects: [{ name: 'q', namespaces: ['/web-.*/'] }] },
      ],
    };
    expect(problems(re)[0]).toMatch(/tenants\[1\]\.projects\[0\]\.namespaces\[0\]: matches namespace web-1, which project a\/p claims/);
  });
  it('a /regex/ that matches a system namespace, and a system namespace by name', () => {
    expect(problems({ tenants: [{ name: 'a', projects: [{ name: 'p', namespaces: ['/kube-.*/'] }] }] })[0]).toMatch(
      /matches the system namespace kube-system, kube-public, kube-node-lease/,
    );
    expect(problems({ tenants: [{ name: 'a', projects: [{ name: 'p', namespaces: ['/.*/'] }] }] })[0]).toMatch(/palisade-system/);
    expect(problems({ tenants: [{ name: 'a', projects: [{ name: 'p', namespaces: ['palisade-system'] }] }] })[0]).toMatch(/is a system namespace/);
  });
  it('an http issuer', () => {
    expect(problems({ oidc: { issuerUrl: 'http://idp.x', clientId: 'c' } })[0]).toMatch(/^access\.oidc\.issuerUrl: http:\/\/idp\.x is not https/);
  });
  it('tenant-admin at a project scope, a binding naming two subjects', () => {
    expect(problems({ ...base, roleBindings: [{ team: 'devs', role: 'tenant-admin', scope: 'project/acme/web' }] })[0]).toMatch(
      /tenant-admin is bound at a project scope/,
    );
    expect(problems({ ...base, roleBindings: [{ team: 'devs', user: 'x', role: 'view', scope: 'tenant/acme' }] })[0]).toMatch(/names more than one/);
  });
  it('an invalid regular expression is a schema error', () => {
    expect(accessSchema.safeParse({ tenants: [{ name: 'a', projects: [{ name: 'p', namespaces: ['/([/'] }] }] }).success).toBe(false);
  });
});
