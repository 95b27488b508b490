import { RateLimitPolicy } from '../hubspot/verdict.js';
import type { AccountBudget, BudgetPort, PauseOptions } from '../ratelimit/budget.js';

/**
 * Longest pause a claimed batch waits out while holding its claim (ms). A batch holds a worker slot and up to
 * 100 objects (which take no other update meanwhile): waiting out a 10-s 429 pause, a credentials pause or a
 * daily stop that way would starve the replica's other accounts. A longer pause hands the batch back to the
 * queue without spending an attempt, and the loop claims nothing for a paused account.
 */
export const MAX_HELD_PAUSE_MS = 1000;

/** The bound of {@link MAX_HELD_PAUSE_MS}, and never more than half the lease. */
export function heldPauseBoundMs(leaseMs: number): number {
  return Math.max(0, Math.min(MAX_HELD_PAUSE_MS, Math.floor(leaseMs / 2)));
}

/** What a 429 pauses the account for. */
export interface RateLimitPause {
  options: PauseOptions & { reason: 'rate_limit' | 'daily' };
  /** The pause asked for (ms), when it is known before the limiter computes it (not for DAILY). */
  ms?: number;
}

/**
 * The pause after a 429 of `policyName`. DAILY: until the account's daily reset, computed by the limiter on
 * Redis's clock (briefly, with a probe, when it came right after the reset). Otherwise `Retry-After` when
 * HubSpot sent one, else the window, or a tenth of it for the older SECONDLY policy (its window is a tenth
 * long; HubSpot's own client waits 1 s there).
 */
export function rateLimitPause(
  policyName: string,
  retryAfterMs: number | undefined,
  budget: { windowMs: number; dailyResetAt?: number },
): RateLimitPause {
  if (policyName === RateLimitPolicy.daily) {
    return {
      options: {
        untilDailyReset: { anchorMs: budget.dailyResetAt ?? 0 },
        reason: 'daily',
        policyName,
        detail: 'HubSpot daily limit reached',
      },
    };
  }
  const ms =
    retryAfterMs ??
    (policyName === RateLimitPolicy.secondly ? Math.ceil(budget.windowMs / 10) : budget.windowMs);
  return {
    options: {
      durationMs: ms,
      reason: 'rate_limit',
      policyName,
      detail: `HubSpot answered 429 (${policyName}); paused for ${ms} ms`,
    },
    ms,
  };
}

/**
 * What a property-schema fetch does before its call: take a grant of the account's budget like any other call,
 * waiting out at most `maxPauseMs` of a pause. A longer pause rejects with `BudgetPausedError`, so the batch that
 * needs the schema goes back to the queue instead of holding its claim until the pause ends. Its sleeps are not
 * recorded as waits for a call's grant (`hbq_ratelimit_wait_seconds_total`): the batches waiting for the schema
 * count that time as `hbq_schema_wait_seconds_total`.
 */
export function schemaFetchGate(
  limiter: Pick<BudgetPort, 'waitForGrant'>,
  budgetFor: (account: string) => AccountBudget | undefined,
  maxPauseMs: number,
): (account: string, signal: AbortSignal) => Promise<void> {
  return async (account, signal) => {
    const budget = budgetFor(account);
    if (budget) await limiter.waitForGrant(account, budget, signal, { maxPauseMs, recordWait: false });
  };
}
