export type {
  AccountBudget,
  AcquireResult,
  Grant,
  PauseOptions,
  RateLimitState,
  Wait,
} from './budget.js';
export { PauseReason, WaitReason } from './budget.js';
export { DAY_MS, nextDailyResetMs } from './daily.js';
export {
  DEFAULT_GAINS,
  decayEstimate,
  defaultMarginMs,
  effectiveMaxOf,
  outsideUsageSample,
  type SmoothingGains,
  smoothOutsideUsage,
} from './estimate.js';
export { BudgetPausedError, RateLimiter, type RateLimiterOptions } from './limiter.js';
export {
  createSharedTokenProvider,
  type FetchedToken,
  type SharedTokenProviderOptions,
  TokenCache,
} from './token-cache.js';
export { TokenRefreshError } from './token-error.js';
