import type { Redis } from 'ioredis';
import type { QueueKeys } from '../keys.js';

/**
 * Jobs a BullMQ producer left where the worker never looks. The worker ingests BullMQ's wait list only; BullMQ
 * puts a job added with `delay` (or `repeat`) in its `delayed` zset, one with `priority` in `prioritized`, the
 * parent of a flow in `waiting-children`, and earlier BullMQ versions a job added to a paused queue in the `paused`
 * list. Nothing moves them to the wait list, so they stay without an outcome until an operator deals with them.
 */
export interface StrandedJobs {
  /** In BullMQ's `delayed` zset: added with `delay` or `repeat`. */
  delayed: number;
  /** In BullMQ's `prioritized` zset: added with `priority`. */
  prioritized: number;
  /** In BullMQ's `waiting-children` zset: parents of a flow. */
  waitingChildren: number;
  /** In BullMQ's legacy `paused` list. */
  paused: number;
  /** All of the above. */
  total: number;
}

/** What `status` says next to a non-zero count. */
export const STRANDED_NOTE = 'BullMQ delay/priority options are not supported';

/** Counts the stranded jobs: four reads, none proportional to the number of jobs. */
export async function countStranded(redis: Redis, keys: QueueKeys): Promise<StrandedJobs> {
  const [delayed, prioritized, waitingChildren, paused] = await Promise.all([
    redis.zcard(keys.bullDelayed),
    redis.zcard(keys.bullPrioritized),
    redis.zcard(keys.bullWaitingChildren),
    redis.llen(keys.bullPaused),
  ]);
  return {
    delayed,
    prioritized,
    waitingChildren,
    paused,
    total: delayed + prioritized + waitingChildren + paused,
  };
}
