import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { QueueKeys } from '../keys.js';
import type { QueueStore } from './store.js';

/** One batch this worker holds, from its claim to the end of its settle. */
export interface HeldBatch {
  abort: AbortController;
  account: string;
  done: Promise<void>;
  /** Set as the settle is sent: from then on the batch's record may vanish without its lease being lost. */
  settling: boolean;
}

/** A worker whose heartbeat stopped this long ago (killed without a clean shutdown) is forgotten. */
export const FORGET_WORKER_MS = 3_600_000;
/** How often a heartbeat also forgets such workers. */
const FORGET_EVERY_MS = 60_000;

export interface LeaseKeeperOptions {
  redis: Redis;
  store: QueueStore;
  keys: QueueKeys;
  workerId: string;
  leaseMs: number;
  /** Time between heartbeats; a few of them fit in one lease. */
  intervalMs: number;
  /**
   * A heartbeat unanswered this long on a connection that looks healthy means the connection hangs (half-open,
   * a request swallowed on the way): it is dropped and reconnected, and ioredis re-sends what was unanswered.
   */
  stallMs: number;
  logger: Logger;
}

/**
 * The worker's heartbeat: on its own timer, independent of the loop and of calls in flight, it marks the worker
 * alive and renews the lease of every batch it holds, so a batch whose call takes 30 s keeps its lease while a
 * dead worker's batches are taken back within one lease. A batch found lost (a stall outlived its lease and
 * another worker took it back) is aborted: it must neither send nor settle.
 */
export class LeaseKeeper {
  readonly batches = new Map<string, HeldBatch>();
  readonly #o: LeaseKeeperOptions;
  #timer: NodeJS.Timeout | undefined;
  #beating: Promise<void> | undefined;
  #beatStartedAt = 0;
  #forgotAt = 0;

  constructor(options: LeaseKeeperOptions) {
    this.#o = options;
  }

  /** Beats now (so the worker shows as alive at once), then every interval. */
  start(): void {
    if (this.#timer) return;
    void this.beat();
    this.#timer = setInterval(() => {
      this.#checkStall();
      void this.beat();
    }, this.#o.intervalMs);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One heartbeat; a beat still on its way (Redis slow or reconnecting) is not doubled. */
  beat(): Promise<void> {
    if (!this.#beating) {
      this.#beatStartedAt = performance.now();
      this.#beating = this.#beat().finally(() => {
        this.#beating = undefined;
      });
    }
    return this.#beating;
  }

  #checkStall(): void {
    const { redis, stallMs, logger } = this.#o;
    if (!this.#beating || redis.status !== 'ready') return;
    const waitedMs = performance.now() - this.#beatStartedAt;
    if (waitedMs < stallMs) return;
    logger.warn({ waitedMs: Math.round(waitedMs) }, 'Redis connection does not answer; reconnecting');
    // Restart the clock: the reconnect itself takes a moment before the beat can be answered.
    this.#beatStartedAt = performance.now();
    redis.disconnect(true);
  }

  async #beat(): Promise<void> {
    const { redis, store, keys, workerId, leaseMs, logger } = this.#o;
    try {
      const ids = [...this.batches.keys()];
      const now = Date.now();
      const [, lost] = await Promise.all([
        redis.zadd(keys.workers, now, workerId),
        store.extend(ids, leaseMs),
      ]);
      if (now - this.#forgotAt >= FORGET_EVERY_MS) {
        this.#forgotAt = now;
        await redis.zremrangebyscore(keys.workers, '-inf', now - FORGET_WORKER_MS);
      }
      for (const id of lost) {
        const batch = this.batches.get(id);
        // A batch that settled while the heartbeat was on its way is gone from Redis, not lost.
        if (!batch || batch.settling) continue;
        logger.warn({ batchId: id }, 'lease lost; abandoning batch');
        batch.abort.abort();
      }
    } catch (err) {
      logger.warn({ err }, 'heartbeat failed; retrying on the next beat');
    }
  }
}
