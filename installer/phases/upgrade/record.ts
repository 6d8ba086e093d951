import { randomUUID } from 'node:crypto';
import type { UpgradePlan } from '../../upgrade/plan.ts';
import { readUpgradeState, writeUpgradeState, type HostUpgradeRecord, type UpgradeRun, type UpgradeState } from '../../upgrade/state.ts';

/**
 * The upgrade record as the phases change it: one object, saved after every
 * change (a killed run leaves it saying exactly which host was in progress).
 * Phases change it only inside task.change, so a dry run leaves the file as it was.
 */
export class UpgradeRecord {
  private constructor(
    private readonly dir: string,
    readonly state: UpgradeState,
  ) {}

  static async open(dir: string): Promise<UpgradeRecord> {
    return new UpgradeRecord(dir, await readUpgradeState(dir));
  }

  get run(): UpgradeRun | undefined {
    return this.state.current;
  }

  /** the current run goes on when it has this target and is not finished; else a new one starts */
  continues(target: string): boolean {
    const c = this.state.current;
    return !!c && c.target === target && c.status !== 'done' && c.status !== 'rolled-back';
  }

  async begin(plan: UpgradePlan, now: Date): Promise<UpgradeRun> {
    const hosts: Record<string, HostUpgradeRecord> = {};
    for (const h of plan.hosts) hosts[h.name] = { role: h.role, from: h.current, to: plan.target, status: h.work ? 'pending' : 'done' };
    this.state.current = {
      id: randomUUID(),
      target: plan.target,
      bundle: plan.bundle,
      startedAt: now.toISOString(),
      status: 'running',
      hosts,
      waited: [],
      ignoredWindow: false,
      stops: [],
    };
    await this.save();
    return this.state.current;
  }

  async host(name: string, change: Partial<HostUpgradeRecord>): Promise<void> {
    const h = this.state.current?.hosts[name];
    if (!h) return;
    Object.assign(h, change);
    await this.save();
  }

  async update(change: Partial<UpgradeRun>): Promise<void> {
    if (!this.state.current) return;
    Object.assign(this.state.current, change);
    await this.save();
  }

  save(): Promise<void> {
    return writeUpgradeState(this.dir, this.state);
  }
}
