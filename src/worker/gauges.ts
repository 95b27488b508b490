import type { Redis } from 'ioredis';
import type { QueueKeys } from '../keys.js';
import type { Metrics } from '../metrics.js';
import { readQueueDepth } from '../queue-depth.js';
import type { RateLimiter } from '../ratelimit/limiter.js';

/**
 * Reads queue depth and account state from Redis into gauges (every few seconds, not per batch). `accounts` are
 * the configured ones: an account seen only in input has no state worth a series.
 */
export async function refreshGauges(
  redis: Redis,
  keys: QueueKeys,
  limiter: Pick<RateLimiter, 'state'>,
  metrics: Metrics,
  accounts: readonly string[],
  oldestPending: number[],
): Promise<void> {
  const [{ stats, waiting, invalid, delayed, oldestJobIds }, time] = await Promise.all([
    readQueueDepth(redis, keys),
    redis.time(),
  ]);
  // Enqueue times are on Redis's clock; so is the age.
  const now = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
  metrics.queueDepth.set({ state: 'waiting' }, waiting);
  metrics.queueDepth.set({ state: 'pending' }, Math.max(0, Number(stats.pending ?? 0)));
  metrics.queueDepth.set({ state: 'inflight' }, Math.max(0, Number(stats.inflight ?? 0)));
  metrics.queueDepth.set({ state: 'delayed' }, delayed);
  metrics.queueDepth.set({ state: 'invalid' }, invalid);
  // The oldest update not yet sent: a wait list's tail, or the oldest object still pending in a group.
  let oldestTs = Number.POSITIVE_INFINITY;
  for (const job of oldestJobIds) {
    if (job)
      oldestTs = Math.min(oldestTs, Number(await redis.hget(keys.jobPrefix + job, 'timestamp')) || oldestTs);
  }
  for (const g of oldestPending) oldestTs = Math.min(oldestTs, g);
  metrics.oldestWaitingAge.set(Number.isFinite(oldestTs) ? Math.max(0, (now - oldestTs) / 1000) : 0);
  metrics.failedUpdates.reset();
  for (const [field, value] of Object.entries(stats)) {
    if (field.startsWith('failed:'))
      metrics.failedUpdates.set({ category: field.slice(7) }, Math.max(0, Number(value)));
  }
  for (const account of accounts) {
    const state = await limiter.state(account);
    for (const reason of ['rate_limit', 'daily', 'auth', 'manual'] as const) {
      metrics.paused.set({ account, reason }, state.paused && state.pauseReason === reason ? 1 : 0);
    }
  }
}
