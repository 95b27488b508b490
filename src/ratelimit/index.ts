export type {
  AccountBudget,
  AcquireResult,
  Grant,
  PauseInForce,
  PauseOptions,
  RateLimitState,
  Wait,
} from './budget.js';
export { PauseReason, WaitReason } from './budget.js';
export { DAY_MS, dailyResetAnchorMs, nextDailyResetMs } from './daily.js';
export {
  budgetCapOf,
  DEFAULT_GAINS,
  decayEstimate,
  defaultMarginMs,
  effectiveMaxOf,
  outsideUsageSample,
  type SmoothingGains,
  smoothOutsideUsage,
} from './estimate.js';
export { RateLimiter, type RateLimiterOptions } from './limiter.js';
export { DAILY_PROBE_DELAY_MS, DAILY_RESET_GRACE_MS } from './scripts.js';
export { BudgetPausedError } from './wait.js';
