import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { pruneFailed } from '../admin/prune.js';
import type { QueueKeys } from '../keys.js';
import type { RateLimiter } from '../ratelimit/limiter.js';
import type { ShardPlace } from '../shards.js';
import type { UpdateLimits } from '../update.js';
import { type QueueGauges, refreshGauges } from './gauges.js';
import { failInvalidJobs } from './invalid.js';
import type { QueueStore } from './store.js';

/** How often housekeeping does what. */
export const HOUSEKEEPING = {
  /** Between ticks (due retries, ended holds, expired leases, pruning). */
  tickMs: 1000,
  /** In-flight marks checked for a vanished batch, every `sweepEveryTicks` ticks. */
  sweepMarks: 100,
  sweepEveryTicks: 10,
  /** Between reads of the queue's gauges. */
  gaugesEveryMs: 5000,
} as const;
const TICK_MS = HOUSEKEEPING.tickMs;

export interface HousekeepingOptions {
  redis: Redis;
  keys: QueueKeys;
  store: QueueStore;
  /** Read for the gauges: each account's limiter state. */
  limiter: Pick<RateLimiter, 'state'>;
  ambiguousHoldMs: number;
  outcomeTtlSeconds: number;
  outcomeStreamRetentionSeconds: number;
  limits?: Partial<UpdateLimits>;
  /** The shard this loop serves: jobs of accounts other shards hold are failed saying so. */
  shard?: ShardPlace;
  logger: Logger;
  /** Where this shard's readings go, when the worker keeps metrics. */
  gauges?: { sink: QueueGauges; shard: number };
  /** Accounts whose gauges are kept: the configured ones this shard holds. */
  accounts: readonly string[];
}

/**
 * What any replica does now and then besides sending: fails unroutable jobs, runs the tick (due retries, ended
 * holds, expired leases, a slice of the in-flight marks), prunes the dead-letter index, and refreshes gauges.
 */
export class Housekeeping {
  readonly #o: HousekeepingOptions;
  #nextTickAt = 0;
  #nextGaugesAt = 0;
  #ticks = 0;
  /** Where the next pass over the dead-letter index resumes. */
  #pruneCursor = 0;

  constructor(options: HousekeepingOptions) {
    this.#o = options;
  }

  /**
   * Runs what is due at `now`; `invalid` is how many unroutable jobs the pass's ingest set aside. Resolves with
   * how soon the next retry or hold end is due (ms), capped at the tick interval.
   */
  async run(now: number, invalid: number): Promise<number> {
    const o = this.#o;
    const due = now >= this.#nextTickAt;
    if (invalid > 0 || due) await failInvalidJobs(o.store, o.limits, o.shard);
    if (!due) return Math.max(0, Math.min(TICK_MS, this.#nextTickAt - now));
    this.#nextTickAt = now + TICK_MS;
    // Broken in-flight marks cannot arise from a script run twice, only from older versions or manual edits: a
    // slice of them is checked every tenth tick.
    const sweep = this.#ticks++ % HOUSEKEEPING.sweepEveryTicks === 0 ? HOUSEKEEPING.sweepMarks : 0;
    const t = await o.store.tick(o.ambiguousHoldMs, {
      sweep,
      streamRetentionMs: o.outcomeStreamRetentionSeconds * 1000,
    });
    this.#pruneCursor = (
      await pruneFailed(o.redis, o.keys, {
        outcomeTtlSeconds: o.outcomeTtlSeconds,
        cursor: this.#pruneCursor,
      })
    ).cursor;
    if (t.reclaimed > 0) o.logger.warn({ batches: t.reclaimed }, 'took back batches whose lease expired');
    if (t.repaired > 0)
      o.logger.warn({ objects: t.repaired }, 'repaired in-flight marks of vanished batches');
    return t.nextDueMs >= 0 ? Math.min(TICK_MS, t.nextDueMs) : TICK_MS;
  }

  /** Refreshes the gauges when due; `oldestPending` are the groups' oldest enqueue times. */
  async gauges(now: number, oldestPending: number[]): Promise<void> {
    const o = this.#o;
    if (!o.gauges || now < this.#nextGaugesAt) return;
    this.#nextGaugesAt = now + HOUSEKEEPING.gaugesEveryMs;
    await refreshGauges(o.redis, o.keys, o.limiter, o.gauges, o.accounts, oldestPending).catch(
      (err: unknown) => o.logger.debug({ err }, 'gauges not refreshed'),
    );
  }
}
