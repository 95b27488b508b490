import type { PauseReason, RateLimitState } from './budget.js';
import { decayEstimate, effectiveMaxOf } from './estimate.js';

const PAUSE_REASONS: readonly string[] = ['rate_limit', 'daily', 'auth', 'manual'] satisfies PauseReason[];

/**
 * Builds {@link RateLimitState} from the reply of state.lua: `[now, grantsInWindow, field, value, ...]`.
 * `budget` overrides the budget remembered from the last acquire.
 */
export function parseRateLimitState(
  reply: unknown,
  budget?: { maxRequests: number; windowMs: number },
): RateLimitState {
  const items = Array.isArray(reply) ? reply : [];
  const now = Number(items[0] ?? 0);
  const grantsInWindow = Number(items[1] ?? 0);
  const hash = new Map<string, string>();
  for (let i = 2; i + 1 < items.length; i += 2) hash.set(String(items[i]), String(items[i + 1]));
  const num = (field: string): number | undefined => {
    const raw = hash.get(field);
    if (raw === undefined || raw === '') return undefined;
    const value = Number(raw);
    return Number.isFinite(value) ? value : undefined;
  };

  const windowMs = num('windowMs') ?? num('reportedInterval');
  const estimate = num('outside') ?? 0;
  const outsideAt = num('outsideAt');
  const outside =
    windowMs !== undefined && outsideAt !== undefined
      ? decayEstimate(estimate, now - outsideAt, windowMs)
      : estimate;
  const reportedMax = num('reportedMax');
  const cap = budget?.maxRequests ?? num('budgetMax') ?? reportedMax;
  const budgetWindowMs = budget?.windowMs ?? num('budgetWindowMs');
  const reportedIntervalMs = num('reportedInterval');
  const pausedUntil = num('pausedUntil');
  const paused = pausedUntil !== undefined && now < pausedUntil;
  const reason = hash.get('pauseReason');
  const dayResetAt = num('dayResetAt');

  const state: RateLimitState = {
    paused,
    grantsInWindow,
    effectiveMax:
      cap === undefined
        ? 0
        : effectiveMaxOf(
            cap,
            reportedMax,
            outside,
            budgetWindowMs !== undefined
              ? {
                  windowMs: budgetWindowMs,
                  ...(reportedIntervalMs !== undefined ? { reportedIntervalMs } : {}),
                }
              : undefined,
          ),
    outsideUsageEstimate: outside,
    dailyCount: dayResetAt !== undefined && now >= dayResetAt ? 0 : (num('dayCount') ?? 0),
  };
  if (paused) {
    state.pausedUntil = pausedUntil;
    if (reason !== undefined && PAUSE_REASONS.includes(reason)) state.pauseReason = reason as PauseReason;
    const policyName = hash.get('pausePolicy');
    if (policyName) state.policyName = policyName;
    const detail = hash.get('pauseDetail');
    if (detail) state.detail = detail;
  }
  const reportedRemaining = num('reportedRemaining');
  const reportedDailyRemaining = num('reportedDailyRemaining');
  const observedAt = num('observedAt');
  if (reportedMax !== undefined) state.reportedMax = reportedMax;
  if (reportedRemaining !== undefined) state.reportedRemaining = reportedRemaining;
  if (reportedIntervalMs !== undefined) state.reportedIntervalMs = reportedIntervalMs;
  if (reportedDailyRemaining !== undefined) state.reportedDailyRemaining = reportedDailyRemaining;
  if (observedAt !== undefined) state.observedAt = observedAt;
  if (dayResetAt !== undefined) state.dailyResetAt = dayResetAt;
  return state;
}
