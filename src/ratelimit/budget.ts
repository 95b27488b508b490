import type { RateLimitSnapshot } from '../hubspot/port.js';

/** The types of the rate limiter's public surface. */

/** The budget of one HubSpot account that all replicas share. */
export interface AccountBudget {
  /** Calls allowed per window (HubSpot's `X-HubSpot-RateLimit-Max`), e.g. 100, 190 or 250. */
  maxRequests: number;
  /** HubSpot's rolling window, 10 000 ms for `TEN_SECONDLY_ROLLING`. */
  windowMs: number;
  /** Calls allowed per day (HubSpot's `X-HubSpot-RateLimit-Daily`); omit for apps without a daily limit. */
  dailyLimit?: number;
  /** Daily calls left untouched for the account's other clients (and the DST hour, see `nextDailyResetMs`). */
  dailyReserve?: number;
  /**
   * Any instant (epoch ms) at which the account's day rolls over; resets repeat every 24 h from it.
   * Default: midnight UTC.
   */
  dailyResetAt?: number;
}

/** Why a grant was refused. */
export const WaitReason = { window: 'window', paused: 'paused', daily: 'daily' } as const;
export type WaitReason = (typeof WaitReason)[keyof typeof WaitReason];

/** Why an account is paused. */
export const PauseReason = {
  rateLimit: 'rate_limit',
  daily: 'daily',
  auth: 'auth',
  manual: 'manual',
} as const;
export type PauseReason = (typeof PauseReason)[keyof typeof PauseReason];

/** Permission to send one call now. `at` is the grant time on Redis's clock (ms). */
export interface Grant {
  granted: true;
  grantId: string;
  at: number;
  /**
   * The grant time on the local clock (ms): `at` moved by the smallest offset seen between a reply's arrival
   * and its Redis timestamp, kept between the local times the acquire was sent and answered. A call leaving
   * at local time `t` left about `t - localAt` after its grant, however long the answer took to come back.
   */
  localAt: number;
}

/** No permission yet: try again in `waitMs` (the exact time until a slot opens, or the pause ends). */
export interface Wait {
  granted: false;
  waitMs: number;
  reason: WaitReason;
}

export type AcquireResult = Grant | Wait;

/**
 * A pause shared by every replica. Give exactly one of `durationMs`, `untilMs` (epoch ms, Redis's clock) and
 * `untilDailyReset`.
 */
export interface PauseOptions {
  durationMs?: number;
  untilMs?: number;
  /**
   * A DAILY 429: until the account's next daily reset (on Redis's clock, resets every 24 h from `anchorMs`, 0 for
   * midnight UTC), or only briefly when it came just after the reset we expected (HubSpot's clock may be behind
   * ours). Either way the pause ends in a probe: one call at a time until HubSpot accepts one.
   */
  untilDailyReset?: { anchorMs: number };
  reason: PauseReason;
  /** HubSpot's `policyName` of the 429 that caused it, e.g. `TEN_SECONDLY_ROLLING` or `DAILY`. */
  policyName?: string;
  /** Human-readable cause for the status CLI. Never put a token here. */
  detail?: string;
}

/** The pause in force once a pause was asked for (it may be a longer one already in force). */
export interface PauseInForce {
  /** Epoch ms on Redis's clock; 0 when no pause is in force. */
  untilMs: number;
  /** Its reason; undefined when none is in force. */
  reason?: PauseReason;
  /** How long it still lasts, measured on Redis's clock. */
  ms: number;
}

/** One account's limiter state, for the status CLI and Prometheus gauges. */
export interface RateLimitState {
  paused: boolean;
  pauseReason?: PauseReason;
  /** Epoch ms. */
  pausedUntil?: number;
  /** HubSpot's `policyName` of the 429 behind the pause, e.g. `DAILY`. */
  policyName?: string;
  detail?: string;
  /** Our grants within the guarded window (HubSpot's window plus the margin) ending now. */
  grantsInWindow: number;
  /** Grants allowed per guarded window right now; 0 before the account's first acquire. */
  effectiveMax: number;
  /** Calls per window HubSpot last reported (`X-HubSpot-RateLimit-Max`). */
  reportedMax?: number;
  /** Calls left in the rolling window as HubSpot last reported. */
  reportedRemaining?: number;
  reportedIntervalMs?: number;
  /** Calls left today as HubSpot last reported. */
  reportedDailyRemaining?: number;
  /** Calls per window spent by other clients of the same app and account, smoothed and decayed to now. */
  outsideUsageEstimate: number;
  /** When HubSpot's reported figures were observed (grant time of the call that carried them). */
  observedAt?: number;
  /** Our grants since the last daily reset. */
  dailyCount: number;
  /** The next daily reset as last computed by acquire. */
  dailyResetAt?: number;
}

/**
 * The rate budget as the worker uses it, whatever keeps it: look without taking (to decide whether to prepare a
 * batch), take (waiting, or reserving a slot that opens soon), report HubSpot's headers back, record when a call
 * really left, and pause. `RateLimiter` implements it over Redis.
 */
export interface BudgetPort {
  peek(account: string, budget: AccountBudget): Promise<AcquireResult>;
  waitForGrant(
    account: string,
    budget: AccountBudget,
    signal?: AbortSignal,
    options?: { maxPauseMs?: number; reserveMs?: number; recordWait?: boolean },
  ): Promise<Grant>;
  report(
    account: string,
    grant: { grantId: string; at: number } | undefined,
    snapshot: RateLimitSnapshot,
    budget: AccountBudget,
    call?: { rejected?: boolean },
  ): Promise<void>;
  departed(
    account: string,
    grant: { grantId: string; at: number; localAt: number },
    sentAt: number,
  ): Promise<unknown>;
  pause(account: string, options: PauseOptions): Promise<PauseInForce>;
}

/** Throws a RangeError unless the budget can be enforced. */
export function assertValidBudget(budget: AccountBudget): void {
  const { maxRequests, windowMs, dailyLimit, dailyReserve, dailyResetAt } = budget;
  if (!Number.isInteger(maxRequests) || maxRequests < 1) {
    throw new RangeError(`maxRequests must be a positive integer, got ${maxRequests}`);
  }
  if (!Number.isInteger(windowMs) || windowMs < 1) {
    throw new RangeError(`windowMs must be a positive integer, got ${windowMs}`);
  }
  if (dailyLimit !== undefined && (!Number.isInteger(dailyLimit) || dailyLimit < 0)) {
    throw new RangeError(`dailyLimit must be a non-negative integer, got ${dailyLimit}`);
  }
  if (dailyReserve !== undefined && (!Number.isInteger(dailyReserve) || dailyReserve < 0)) {
    throw new RangeError(`dailyReserve must be a non-negative integer, got ${dailyReserve}`);
  }
  if (dailyResetAt !== undefined && !Number.isFinite(dailyResetAt)) {
    throw new RangeError(`dailyResetAt must be a finite epoch time in ms, got ${dailyResetAt}`);
  }
}
