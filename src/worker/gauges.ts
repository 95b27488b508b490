import type { Redis } from 'ioredis';
import { categoryOfFailedStat, type QueueKeys } from '../keys.js';
import type { Metrics } from '../metrics.js';
import { readQueueDepth } from '../queue-depth.js';
import type { RateLimiter } from '../ratelimit/limiter.js';

/** What one shard's gauges read: depth by state, its oldest unsent update, failed updates by category. */
export interface ShardReading {
  readonly depth: Readonly<Record<'waiting' | 'pending' | 'inflight' | 'delayed' | 'invalid', number>>;
  /** Enqueue time (Redis clock, ms) of the oldest update not yet sent; +Infinity when none. */
  readonly oldestTs: number;
  /** Redis time of the reading (ms). */
  readonly now: number;
  readonly failed: ReadonlyMap<string, number>;
}

/**
 * The queue's gauges of one worker process, summed over the shards it serves: each shard's housekeeping reports
 * its own reading, and every gauge shows the whole queue (the oldest age is the oldest of any shard).
 */
export class QueueGauges {
  readonly #metrics: Metrics;
  readonly #readings: Array<ShardReading | undefined>;
  readonly #inflight: number[];

  constructor(metrics: Metrics, shards: number) {
    this.#metrics = metrics;
    this.#readings = Array.from({ length: shards }, () => undefined);
    this.#inflight = Array.from({ length: shards }, () => 0);
  }

  get metrics(): Metrics {
    return this.#metrics;
  }

  /** Batches this process has in flight in one shard. */
  inflight(shard: number, count: number): void {
    this.#inflight[shard] = count;
    this.#metrics.inflightBatches.set(this.#inflight.reduce((a, b) => a + b, 0));
  }

  report(shard: number, reading: ShardReading): void {
    this.#readings[shard] = reading;
    const readings = this.#readings.filter((r): r is ShardReading => r !== undefined);
    const m = this.#metrics;
    for (const state of ['waiting', 'pending', 'inflight', 'delayed', 'invalid'] as const) {
      m.queueDepth.set(
        { state },
        readings.reduce((sum, r) => sum + r.depth[state], 0),
      );
    }
    const age = Math.max(0, ...readings.map((r) => (Number.isFinite(r.oldestTs) ? r.now - r.oldestTs : 0)));
    m.oldestWaitingAge.set(age / 1000);
    const failed = new Map<string, number>();
    for (const r of readings) for (const [c, n] of r.failed) failed.set(c, (failed.get(c) ?? 0) + n);
    m.failedUpdates.reset();
    for (const [category, n] of failed) m.failedUpdates.set({ category }, n);
  }
}

/**
 * Reads one shard's queue depth and account state from Redis into the gauges (every few seconds, not per batch).
 * `accounts` are the configured ones this shard holds: an account seen only in input has no state worth a series.
 */
export async function refreshGauges(
  redis: Redis,
  keys: QueueKeys,
  limiter: Pick<RateLimiter, 'state'>,
  gauges: { sink: QueueGauges; shard: number },
  accounts: readonly string[],
  oldestPending: number[],
): Promise<void> {
  const [{ stats, waiting, invalid, delayed, oldestJobIds }, time] = await Promise.all([
    readQueueDepth(redis, keys),
    redis.time(),
  ]);
  // Enqueue times are on Redis's clock; so is the age.
  const now = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
  // The oldest update not yet sent: a wait list's tail, or the oldest object still pending in a group.
  let oldestTs = Number.POSITIVE_INFINITY;
  for (const job of oldestJobIds) {
    if (job)
      oldestTs = Math.min(oldestTs, Number(await redis.hget(keys.jobPrefix + job, 'timestamp')) || oldestTs);
  }
  for (const g of oldestPending) oldestTs = Math.min(oldestTs, g);
  const failed = new Map<string, number>();
  for (const [field, value] of Object.entries(stats)) {
    const category = categoryOfFailedStat(field);
    if (category !== undefined) failed.set(category, Math.max(0, Number(value)));
  }
  gauges.sink.report(gauges.shard, {
    depth: {
      waiting,
      pending: Math.max(0, Number(stats.pending ?? 0)),
      inflight: Math.max(0, Number(stats.inflight ?? 0)),
      delayed,
      invalid,
    },
    oldestTs,
    now,
    failed,
  });
  const metrics = gauges.sink.metrics;
  for (const account of accounts) {
    const state = await limiter.state(account);
    for (const reason of ['rate_limit', 'daily', 'auth', 'manual'] as const) {
      metrics.paused.set({ account, reason }, state.paused && state.pauseReason === reason ? 1 : 0);
    }
  }
}
