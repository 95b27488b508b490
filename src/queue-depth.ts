import type { Redis } from 'ioredis';
import type { QueueKeys } from './keys.js';

/** The queue's depth counters and wait lists as `status` and the worker's gauges read them. */
export interface QueueDepth {
  /** The stats hash: depth counters (`pending`, `inflight`) and failures by category (`failed:<category>`). */
  stats: Record<string, string>;
  /** Jobs in both wait lists (BullMQ's and the interactive one), not yet taken in by a worker. */
  waiting: number;
  invalid: number;
  delayed: number;
  /** The oldest job of each wait list (producers LPUSH, so the oldest is at the tail), when it holds any. */
  oldestJobIds: Array<string | null>;
}

/** Reads the depth of the queue: a handful of reads, none proportional to the number of updates. */
export async function readQueueDepth(redis: Redis, keys: QueueKeys): Promise<QueueDepth> {
  const [stats, waitingBulk, waitingInteractive, invalid, delayed, oldestJob, oldestInteractive] =
    await Promise.all([
      redis.hgetall(keys.stats),
      redis.llen(keys.wait),
      redis.llen(keys.interactiveWait),
      redis.llen(keys.invalid),
      redis.zcard(keys.delayed),
      redis.lindex(keys.wait, -1),
      redis.lindex(keys.interactiveWait, -1),
    ]);
  return {
    stats,
    waiting: waitingBulk + waitingInteractive,
    invalid,
    delayed,
    oldestJobIds: [oldestJob, oldestInteractive],
  };
}
