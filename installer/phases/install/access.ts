import { accessPlanFor, describePlan, executeAccessPlan, planHasWork, type AccessPlan } from '../../access/apply.ts';
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
    const plan = task.outputs.maybe(ACCESS_PLAN) ?? (await accessPlanFor(ctx.driver, api, ctx.config.access));
    const d = describePlan(plan);
    const what = `apply tenant access: create ${d.created.length}, update ${d.configured.length}, remove ${d.pruned.length}, release ${d.released.length} namespace(s)`;
    const r = await task.change(api.name, what, () => executeAccessPlan(ctx.driver, api, plan));
    if (r) task.output(`${r.namespaces.length} tenant namespace(s); ${r.created.length} created, ${r.configured.length} updated, ${r.pruned.length} removed, ${r.released.length} released`);
  },
};
