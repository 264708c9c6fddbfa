/**
 * Retries with exponential backoff for transient failures (rate limits, 5xx, timeouts).
 *
 * @module
 */

/** Options of `retry`. */
export interface RetryOptions {
  /** Retries after the first attempt. @default 4 */
  retries?: number;
  /** First delay in ms; doubled each retry, capped at `maxDelayMs`. @default 500 */
  backoffMs?: number;
  /** @default 8000 */
  maxDelayMs?: number;
  /** Which errors are worth another try. @default () => true */
  isRetryable?: (e: unknown) => boolean;
  /** Called before each wait. */
  onRetry?: (e: unknown, attempt: number, delayMs: number) => void;
  /** How to wait (tests may shorten it). @default setTimeout */
  sleep?: (ms: number) => Promise<void>;
}

/** Runs `fn` until it succeeds, it throws a non-retryable error, or retries run out. */
export async function retry<T>(fn: () => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const retries = opts.retries ?? 4;
  const base = opts.backoffMs ?? 500;
  const cap = opts.maxDelayMs ?? 8000;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 0;; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (attempt >= retries || !(opts.isRetryable?.(e) ?? true)) throw e;
      const delay = Math.min(cap, base * 2 ** attempt);
      opts.onRetry?.(e, attempt + 1, delay);
      await sleep(delay);
    }
  }
}
