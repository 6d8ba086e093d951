import { stringify } from 'yaml';
import { k3sDriver } from '../cluster/k3s.ts';
import type { LoadedConfig } from '../config/load.ts';
import { PalisadeError, usageError } from '../core/errors.ts';
import { renderTable } from '../core/output.ts';
import { closeAll, connectHosts } from '../hosts/index.ts';
import { topology } from '../config/topology.ts';
import { applyAccess, type AccessApplyResult } from '../access/apply.ts';
import { explain, whoCan, type Explanation, type WhoCan } from '../access/explain.ts';
import { claimRegex, renderAccess, type RenderedAccess } from '../access/render.ts';
import { isRegexClaim, type AccessConfig } from '../access/schema.ts';

/**
 * What `palisade access …` does, between its flags and its output: render offline, apply
 * through the first controller, and the text forms of the answers.
 */

const accessOf = (loaded: LoadedConfig): AccessConfig => loaded.config.access ?? { tenants: [], teams: [], roleBindings: [] };

/**
 * The rendering the questions are answered from. Offline, a /regex/ claims no live namespace;
 * a namespace the operator asks about that a /regex/ matches is taken as existing.
 */
export function renderOffline(loaded: LoadedConfig, namespace?: string): RenderedAccess {
  const access = accessOf(loaded);
  const regexMatch =
    namespace !== undefined && access.tenants.some((t) => t.projects.some((p) => p.namespaces.some((n) => isRegexClaim(n) && claimRegex(n).test(namespace))));
  return renderAccess(access, regexMatch ? [namespace] : []);
}

export function renderYaml(r: RenderedAccess): string {
  return r.objects.map((o) => stringify(o, { lineWidth: 0 })).join('---\n');
}

export function explainAccess(loaded: LoadedConfig, o: { user: string; groups: string[]; namespace?: string }): Explanation {
  if (!o.user) throw usageError('access.user', '--user is required', 'name the user as the identity provider sends it, e.g. --user alice@example.com');
  return explain(accessOf(loaded), renderOffline(loaded, o.namespace), o);
}

export function whoCanAccess(loaded: LoadedConfig, o: { verb: string; resource: string; namespace?: string }): WhoCan {
  return whoCan(accessOf(loaded), renderOffline(loaded, o.namespace), o);
}

export async function applyAccessToCluster(loaded: LoadedConfig, o: { dryRun: boolean }): Promise<AccessApplyResult> {
  const first = topology(loaded.config).firstController;
  const { hosts, failures } = await connectHosts(loaded.config, loaded.baseDir, { only: [first.name] });
  try {
    const api = hosts.get(first.name);
    if (!api) {
      throw new PalisadeError('access.connect', `cannot reach ${first.name} to apply access: ${failures[0]?.error.message ?? 'not connected'}`, {
        hint: 'check `palisade hosts check`; the first controller applies the objects',
      });
    }
    return await applyAccess({ driver: k3sDriver, api, access: loaded.config.access, dryRun: o.dryRun });
  } finally {
    await closeAll(hosts);
  }
}

export function explainText(e: Explanation): string {
  const out = [`user ${e.user}${e.groups.length ? `, groups ${e.groups.join(', ')}` : ''}${e.teams.length ? ` (teams: ${e.teams.join(', ')})` : ''}`];
  if (!e.bindings.length) return `${out[0]}\nno binding applies: this user may do nothing in the tenants' namespaces\n`;
  out.push(
    '',
    'bindings that apply:',
    renderTable(
      ['NAMESPACE', 'ROLE', 'BINDING', 'WHY'],
      e.bindings.map((b) => [b.namespace, b.role, b.from ?? b.name, b.via.join('; ')]),
    ),
  );
  out.push(
    '',
    'what they allow together:',
    renderTable(
      ['NAMESPACE', 'API GROUP', 'RESOURCES', 'VERBS'],
      e.permissions.map((p) => [p.namespace, p.apiGroups.map((g) => g || 'core').join(','), p.resources.join(','), p.verbs.join(',')]),
    ),
  );
  return `${out.join('\n')}\n`;
}

export function whoCanText(w: WhoCan): string {
  if (!w.subjects.length) return `nobody may ${w.verb} ${w.resource} through palisade's bindings\n`;
  return `${renderTable(
    ['KIND', 'NAME', 'TEAMS', 'NAMESPACES'],
    w.subjects.map((s) => [s.kind, s.name, s.teams.join(',') || '-', s.namespaces.join(',')]),
  )}\n`;
}

export function applyText(r: AccessApplyResult): string {
  const verb = r.dryRun ? 'would ' : '';
  const lines = [
    `${r.dryRun ? 'dry run: ' : ''}${r.namespaces.length} tenant namespace(s); ${verb}create ${r.created.length}, ${verb}update ${r.configured.length}${r.dryRun ? '' : `, ${r.unchanged} unchanged`}, ${verb}remove ${r.pruned.length}, ${verb}release ${r.released.length}`,
  ];
  for (const p of r.pruned) lines.push(`  ${r.dryRun ? 'would remove' : 'removed'} ${p}`);
  for (const p of r.released) lines.push(`  ${r.dryRun ? 'would release' : 'released'} ${p} (left in place with its workloads; palisade's labels removed)`);
  return `${lines.join('\n')}\n`;
}
