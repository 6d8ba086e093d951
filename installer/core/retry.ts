import { setTimeout as sleep } from 'node:timers/promises';

export interface RetryOptions {
  /** total attempts including the first (default 4) */
  attempts?: number;
  /** first delay in ms (default 250); doubles each time with jitter */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** return false to stop retrying and rethrow at once */
  shouldRetry?: (error: unknown, attempt: number) => boolean;
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  signal?: AbortSignal;
}

/** The one retry helper: exponential backoff with jitter. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const attempts = opts.attempts ?? 4;
  const base = opts.baseDelayMs ?? 250;
  const max = opts.maxDelayMs ?? 5000;
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    opts.signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (e) {
      lastError = e;
      if (attempt === attempts || (opts.shouldRetry && !opts.shouldRetry(e, attempt))) throw e;
      const delay = Math.min(max, base * 2 ** (attempt - 1)) * (0.75 + Math.random() * 0.5);
      opts.onRetry?.(e, attempt, delay);
      await sleep(delay, undefined, opts.signal ? { signal: opts.signal } : undefined);
    }
  }
  throw lastError;
}
