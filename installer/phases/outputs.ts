import type { HostOutput, Output, Outputs } from './types.ts';

/**
 * The values phases provide to later phases, kept by the runner for one run.
 * Knows which phase declared each output, so a read of one that was never
 * provided names the phase to run.
 */
export class OutputStore implements Outputs {
  private readonly values = new Map<string, unknown>();
  private readonly hostValues = new Map<string, Map<string, unknown>>();
  /** output name → id of the phase that declares it */
  readonly providers = new Map<string, string>();

  /** Seed values (tests; a caller that already holds what a phase would provide). */
  static of(entries: ReadonlyArray<readonly [Output<unknown>, unknown]> = []): OutputStore {
    const s = new OutputStore();
    for (const [o, v] of entries) s.values.set(o.name, v);
    return s;
  }

  declare(phase: string, outputs: ReadonlyArray<Output<unknown> | HostOutput<unknown>>): void {
    for (const o of outputs) {
      const other = this.providers.get(o.name);
      if (other && other !== phase) throw new Error(`output ${o.name} is declared by both ${other} and ${phase}`);
      this.providers.set(o.name, phase);
    }
  }

  set<T>(o: Output<T> | HostOutput<T>, value: T, host?: string): void {
    if (!o.perHost) {
      this.values.set(o.name, value);
      return;
    }
    if (host === undefined) throw new Error(`output ${o.name} is per host: provide it from a host's step`);
    let m = this.hostValues.get(o.name);
    if (!m) this.hostValues.set(o.name, (m = new Map()));
    m.set(host, value);
  }

  get<T>(o: Output<T>): T {
    if (!this.values.has(o.name)) {
      const by = this.providers.get(o.name);
      throw new Error(`${o.name} is not known yet${by ? ` (the ${by} phase provides it)` : ''}`);
    }
    return this.values.get(o.name) as T;
  }

  maybe<T>(o: Output<T>): T | undefined {
    return this.values.get(o.name) as T | undefined;
  }

  ofHosts<T>(o: HostOutput<T>): ReadonlyMap<string, T> {
    return (this.hostValues.get(o.name) ?? new Map()) as ReadonlyMap<string, T>;
  }
}
