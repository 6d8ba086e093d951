import { accessPlanFor, describePlan, executeAccessPlan, planHasWork, type AccessPlan } from '../../access/apply.ts';
import { renderAccess } from '../../access/render.ts';
import { output, type Phase } from '../types.ts';
import type { InstallContext } from './context.ts';
import { apiHost } from './shared/cluster.ts';

/** what apply found to do (access, from shouldRun) */
const ACCESS_PLAN = output<AccessPlan>('access-plan');

/** Tenant access (palisade.yaml `access:`): namespaces, quotas, policies, roles and bindings; what the config dropped is pruned. */
export const accessPhase: Phase<InstallContext> = {
  id: 'access',
  title: 'Apply tenant access (namespaces, quotas, network policies, roles, bindings)',
  provides: [ACCESS_PLAN],
  async shouldRun(ctx, i) {
    const plan = await accessPlanFor(ctx.driver, apiHost(ctx, i.outputs), ctx.config.access);
    i.provide(ACCESS_PLAN, plan);
    return planHasWork(plan);
  },
  async run(ctx, task) {
    const api = apiHost(ctx, task.outputs);
    const known = task.outputs.maybe(ACCESS_PLAN);
    let what: string;
    if (known) {
      const d = describePlan(known);
      what = `apply tenant access: create ${d.created.length}, update ${d.configured.length}, remove ${d.pruned.length}, release ${d.released.length} namespace(s)`;
    } else {
      // the cluster could not be read (not there yet): say what the config asks for
      const r = renderAccess(ctx.config.access ?? { tenants: [], teams: [], roleBindings: [] });
      if (!r.objects.length) return;
      what = `apply tenant access: ${r.objects.length} object(s) for ${r.namespaces.length} tenant namespace(s)`;
    }
    const r = await task.change(api.name, what, async () =>
      executeAccessPlan(ctx.driver, api, known ?? (await accessPlanFor(ctx.driver, api, ctx.config.access))),
    );
    if (r)
      task.output(
        `${r.namespaces.length} tenant namespace(s); ${r.created.length} created, ${r.configured.length} updated, ${r.pruned.length} removed, ${r.released.length} released`,
      );
  },
};
