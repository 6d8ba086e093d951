import type { RunObserver } from '../types.ts';
import { jsonRenderer } from './json.ts';
import { listrRenderer } from './listr.ts';
import { plainRenderer } from './plain.ts';

/**
 * The renderer for `--output`: text draws a listr2 tree on a terminal and plain
 * lines elsewhere (no TTY, or CI set); json writes one event per line; silent
 * nothing.
 */
export type OutputMode = 'text' | 'json' | 'silent';

export function renderersFor(
  mode: OutputMode,
  env: { isTTY?: boolean; ci?: boolean } = { isTTY: !!process.stdout.isTTY, ci: !!process.env.CI },
): RunObserver[] {
  if (mode === 'json') return [jsonRenderer()];
  if (mode === 'silent') return [];
  return [env.isTTY && !env.ci ? listrRenderer() : plainRenderer()];
}
