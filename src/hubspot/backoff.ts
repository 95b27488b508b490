/**
 * How long to wait before the next try, per the attempt-policy table's `backoff` column (policy.ts): capped
 * exponential steps with equal jitter, Retry-After where HubSpot gives one, HubSpot's advice for 423s, the rate
 * window for a 429 that says nothing more. Pure: the randomness is injectable.
 */
import { ATTEMPT_POLICY, type AttemptReason } from './policy.js';

/** First backoff step. */
export const DEFAULT_BASE_DELAY_MS = 1000;
/** Cap of exponential backoff (Retry-After is honoured beyond it). */
export const DEFAULT_MAX_DELAY_MS = 300_000;
/** HubSpot's advice for 423. */
export const LOCKED_MIN_DELAY_MS = 2000;
/** The rolling window of HubSpot's usual per-app limit, used when a 429 says nothing more. */
export const DEFAULT_RATE_WINDOW_MS = 10_000;

/** Options of {@link backoffDelayMs}; every field has a default. */
export interface BackoffOptions {
  baseMs?: number;
  maxMs?: number;
  /** HubSpot's `Retry-After`, in ms. */
  retryAfterMs?: number;
  /** What is left of the rate-limit window, for 429s without `Retry-After`. */
  windowMs?: number;
  /** A source of numbers in [0, 1); injectable for tests. */
  random?: () => number;
}

/**
 * The capped exponential step before jitter: `baseMs * 2^(attempt-1)`, at most `maxMs`. `attempt` is the number
 * of tries made so far (1 after the first failure); values below 1 count as 1.
 */
export function exponentialCapMs(attempt: number, baseMs: number, maxMs: number): number {
  const n = Number.isFinite(attempt) ? Math.max(1, Math.floor(attempt)) : 1;
  // 2^60 already exceeds any sane cap; clamping the exponent avoids Infinity arithmetic.
  return Math.min(maxMs, baseMs * 2 ** Math.min(n - 1, 60));
}

/**
 * How long to wait before the next try after `reason`. Exponential backoff uses equal jitter (half of the step
 * fixed, half random) so a fleet of workers does not retry in lockstep, while the wait never drops below half
 * the step. `Retry-After` is honoured as given, even above `maxMs` (a 477 may ask for hours).
 */
export function backoffDelayMs(reason: AttemptReason, attempt: number, opts: BackoffOptions = {}): number {
  const baseMs = opts.baseMs ?? DEFAULT_BASE_DELAY_MS;
  const maxMs = opts.maxMs ?? DEFAULT_MAX_DELAY_MS;
  const random = opts.random ?? Math.random;
  const retryAfterMs =
    opts.retryAfterMs !== undefined && Number.isFinite(opts.retryAfterMs)
      ? Math.max(0, opts.retryAfterMs)
      : undefined;
  const jittered = () => {
    const cap = exponentialCapMs(attempt, baseMs, maxMs);
    const r = Math.min(1, Math.max(0, random()));
    return Math.round(cap / 2 + (cap / 2) * r);
  };
  switch (ATTEMPT_POLICY[reason].backoff) {
    case 'none':
      return 0;
    case 'exponential':
      return jittered();
    case 'retryAfterOrExponential':
      return retryAfterMs ?? jittered();
    case 'atLeast2s':
      return Math.max(LOCKED_MIN_DELAY_MS, retryAfterMs ?? 0, jittered());
    case 'rateWindow': {
      if (retryAfterMs !== undefined) return retryAfterMs;
      const window =
        opts.windowMs !== undefined && opts.windowMs >= 0 ? opts.windowMs : DEFAULT_RATE_WINDOW_MS;
      return Math.round(window);
    }
  }
}
